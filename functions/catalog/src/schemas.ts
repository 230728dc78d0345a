import { billingPeriod } from "@minispod/db";
import { fields } from "@minispod/shared";
import * as v from "valibot";
import { cpuQuantity, memoryQuantity, storageQuantity } from "./quantities";

/** A DNS label (RFC 1123) of at most 40 characters, so it fits in object names and hosts. */
export const SLUG = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

// Docker reference grammar (distribution/reference) without tag or digest:
// [domain[:port]/]path-component[/path-component]*
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** POSIX-style names: what every shell and app can read back. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ABSOLUTE_PATH = /^\/(?:[^\0/]+\/?)*$/;

/** Largest value of the int4 price column. */
const MAX_PRICE_MINOR = 2_147_483_647;
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/** Missing keys, unknown keys and non-objects each get their own plain message. */
const objectMessage = (issue: v.BaseIssue<unknown>) => {
  if (issue.expected === "never") return "is not a known field";
  if (issue.received === "undefined") return "is required";
  return "must be an object";
};

export const slugSchema = v.pipe(
  v.string("must be a string"),
  v.regex(
    SLUG,
    "must be 1-40 lower-case letters, digits or hyphens, starting and ending with a letter or digit",
  ),
);

const hasTagOrDigest = (s: string) =>
  s.includes("@") || s.slice(s.lastIndexOf("/") + 1).includes(":");

const image = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.nonEmpty("is required"),
  v.maxLength(255, "is too long (at most 255 characters)"),
  v.check((s) => !s.includes("@"), "must not include a digest; pin the version with imageTag"),
  // A ':' before the last '/' is a registry port; after it, a tag.
  v.check(
    (s) => !s.slice(s.lastIndexOf("/") + 1).includes(":"),
    "must not include a tag; put it in imageTag",
  ),
  v.check(
    // A tag or digest was already reported above; one message per mistake.
    (s) => hasTagOrDigest(s) || IMAGE.test(s),
    'must be an image reference like "gitea/gitea" or "ghcr.io/owner/app" (lower-case path components)',
  ),
);

const imageTag = v.pipe(
  v.string("must be a string"),
  v.regex(
    TAG,
    "must be a tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
  ),
);

const port = v.pipe(
  v.number("must be a number"),
  v.integer("must be an integer"),
  v.minValue(1, "must be a port between 1 and 65535"),
  v.maxValue(65535, "must be a port between 1 and 65535"),
);

const ENV_SHAPE = "must be an object of NAME: value strings";
const defaultEnv = v.pipe(
  // valibot's record reads an array as an object with keys "0", "1", …: say what is wrong instead.
  v.unknown(),
  v.check((x) => !Array.isArray(x), ENV_SHAPE),
  v.record(
    v.pipe(
      v.string(),
      v.regex(ENV_NAME, "must be an environment variable name like APP_PORT"),
      v.maxLength(128),
    ),
    v.pipe(
      v.string("must be a string"),
      v.maxLength(4096, "is too long (at most 4096 characters)"),
    ),
    ENV_SHAPE,
  ),
  v.check((env) => Object.keys(env).length <= 100, "must have at most 100 variables"),
);

const mountPath = v.pipe(
  v.string("must be a string"),
  v.maxLength(255, "is too long"),
  v.regex(ABSOLUTE_PATH, 'must be an absolute path like "/data"'),
  v.check((p) => p !== "/", "must not be the root directory"),
  // The check above, for the API document.
  v.metadata({ not: { const: "/" }, examples: ["/data"] }),
);

const amountMinor = v.pipe(
  v.number("must be a number"),
  v.integer("must be an integer number of minor units (cents)"),
  v.minValue(0, "must not be negative"),
  v.maxValue(MAX_PRICE_MINOR, "is too large"),
);

const currency = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Z]{3}$/, 'must be three upper-case letters like "EUR"'),
  v.check((c) => CURRENCIES.has(c), "must be an ISO 4217 currency code"),
  // The check above, for the API document.
  v.metadata({ enum: [...CURRENCIES].sort() }),
);

const period = v.picklist(
  billingPeriod.enumValues,
  `must be one of ${billingPeriod.enumValues.join(", ")}`,
);
const flag = v.boolean("must be true or false");
const description = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.maxLength(2000, "is too long"),
);

const podSecurity = v.picklist(
  ["restricted", "baseline"],
  'must be "restricted" (the default) or "baseline" (for images that need more, such as root)',
);
const MAX_UID = 2_147_483_647;
const runAsUser = v.nullable(
  v.pipe(
    v.number("must be a number or null"),
    v.integer("must be an integer"),
    v.minValue(1, "must be a non-root UID (1 or more); null runs the image as root"),
    v.maxValue(MAX_UID, "is too large"),
  ),
);
const generatedSecrets = v.pipe(
  v.array(
    v.pipe(
      v.string("must be a string"),
      v.regex(ENV_NAME, "must be an environment variable name like APP_SECRET"),
      v.maxLength(128),
    ),
    "must be a list of environment variable names",
  ),
  v.maxLength(20, "must have at most 20 names"),
  v.check((names) => new Set(names).size === names.length, "must not repeat a name"),
);
const probePath = v.pipe(
  v.string("must be a string"),
  v.maxLength(255, "is too long"),
  v.regex(/^\/[\x21-\x7e]*$/, 'must be an HTTP path like "/healthz" (no spaces)'),
);

const absolutePath = v.pipe(
  v.string("must be a string"),
  v.maxLength(255, "is too long"),
  v.regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute path like "/var/cache/app"'),
  v.check((p) => !p.split("/").includes(".."), "must not contain .."),
);
const writablePaths = v.pipe(
  v.array(absolutePath, "must be a list of paths"),
  v.maxLength(10, "must have at most 10 paths"),
  v.check((paths) => new Set(paths).size === paths.length, "must not repeat a path"),
);
const imageDigest = v.pipe(
  v.string("must be a string"),
  v.regex(/^sha256:[a-f0-9]{64}$/, 'must be an image digest like "sha256:<64 hex digits>"'),
);

const credential = v.strictObject(
  {
    secret: v.pipe(v.string("must be a string"), v.regex(ENV_NAME, "must be a variable name")),
    label: v.pipe(v.string("must be a string"), v.trim(), v.minLength(1), v.maxLength(80)),
    username: v.optional(v.pipe(v.string("must be a string"), v.minLength(1), v.maxLength(80))),
    path: v.optional(probePath),
  },
  objectMessage,
);
const credentials = v.pipe(
  v.array(credential, "must be a list of credentials"),
  v.maxLength(5, "must have at most 5 credentials"),
  v.check(
    (list) => new Set(list.map((c) => c.secret)).size === list.length,
    "must not repeat a secret",
  ),
);

/**
 * How the provisioner runs the container (CatalogWorkload). Every key optional:
 * the defaults are the hardened ones (restricted Pod Security, a non-root UID,
 * a TCP check of the port). Sent as a whole; a patch replaces it.
 */
const workload = v.strictObject(
  {
    podSecurity: v.optional(podSecurity),
    runAsUser: v.optional(runAsUser),
    generatedSecrets: v.optional(generatedSecrets),
    probePath: v.optional(probePath),
    credentials: v.optional(credentials),
    imageDigest: v.optional(imageDigest),
    readOnlyRootFilesystem: v.optional(v.boolean("must be true or false")),
    writablePaths: v.optional(writablePaths),
    ephemeralStorage: v.optional(storageQuantity()),
    backups: v.optional(
      v.strictObject(
        {
          schedule: v.picklist(
            ["hourly", "daily", "weekly"],
            'must be "hourly", "daily" or "weekly"',
          ),
          keep: v.pipe(
            v.number("must be a number"),
            v.integer("must be a whole number"),
            v.minValue(1, "must be at least 1"),
            v.maxValue(90, "must be at most 90"),
          ),
        },
        objectMessage,
      ),
    ),
  },
  objectMessage,
);
export type WorkloadInput = v.InferOutput<typeof workload>;

/**
 * The rules that span fields, checked on the merged entry (create and patch):
 * root needs the baseline Pod Security level (restricted refuses it), and a
 * generated secret must not shadow a default variable.
 */
export function workloadProblem(
  w: WorkloadInput,
  defaultEnv: Record<string, string>,
): { field: string; message: string } | undefined {
  if (w.runAsUser === null && w.podSecurity !== "baseline") {
    return {
      field: "workload.runAsUser",
      message: 'null (run as root) needs workload.podSecurity "baseline"',
    };
  }
  const shadowed = w.generatedSecrets?.find((name) => name in defaultEnv);
  if (shadowed) {
    return {
      field: "workload.generatedSecrets",
      message: `${shadowed} is also in defaultEnv; keep it in one place`,
    };
  }
  if (w.writablePaths?.length && !w.readOnlyRootFilesystem) {
    return {
      field: "workload.writablePaths",
      message: "only matters with workload.readOnlyRootFilesystem true",
    };
  }
  const unknown = w.credentials?.find((c) => !w.generatedSecrets?.includes(c.secret));
  if (unknown) {
    return {
      field: "workload.credentials",
      message: `${unknown.secret} is not one of workload.generatedSecrets`,
    };
  }
  return undefined;
}

const storageRule = (r: { storage?: string | null; storageMountPath?: string | null }) =>
  (r.storage == null) === (r.storageMountPath == null);
const STORAGE_RULE_MESSAGE = "storage and storageMountPath go together: set both or neither";

export const createServiceSchema = v.strictObject(
  {
    slug: slugSchema,
    name: fields.name(),
    description: v.optional(description, ""),
    image,
    imageTag,
    port,
    defaultEnv: v.optional(defaultEnv, {}),
    resources: v.pipe(
      v.strictObject(
        {
          cpu: cpuQuantity(),
          memory: memoryQuantity(),
          storage: v.optional(v.nullable(storageQuantity())),
          storageMountPath: v.optional(v.nullable(mountPath)),
        },
        objectMessage,
      ),
      v.forward(
        v.partialCheck(
          [["storage"], ["storageMountPath"]],
          (r) => storageRule(r),
          STORAGE_RULE_MESSAGE,
        ),
        ["storageMountPath"],
      ),
    ),
    price: v.strictObject(
      { amountMinor, currency, period: v.optional(period, "MONTHLY") },
      objectMessage,
    ),
    allowMultiple: v.optional(flag, false),
    scaleToZero: v.optional(flag, false),
    workload: v.optional(workload, {}),
  },
  objectMessage,
);
export type CreateServiceInput = v.InferOutput<typeof createServiceSchema>;

/**
 * Every field optional; `slug` cannot change (events, URLs and hosts name it),
 * and `active` changes only through retire. `storage`/`storageMountPath` may be
 * null to remove the volume; the pair rule is checked after merging.
 */
export const updateServiceSchema = v.strictObject(
  {
    name: v.optional(fields.name()),
    description: v.optional(description),
    image: v.optional(image),
    imageTag: v.optional(imageTag),
    port: v.optional(port),
    defaultEnv: v.optional(defaultEnv),
    resources: v.optional(
      v.strictObject(
        {
          cpu: v.optional(cpuQuantity()),
          memory: v.optional(memoryQuantity()),
          storage: v.optional(v.nullable(storageQuantity())),
          storageMountPath: v.optional(v.nullable(mountPath)),
        },
        objectMessage,
      ),
    ),
    price: v.optional(
      v.strictObject(
        {
          amountMinor: v.optional(amountMinor),
          currency: v.optional(currency),
          period: v.optional(period),
        },
        objectMessage,
      ),
    ),
    allowMultiple: v.optional(flag),
    scaleToZero: v.optional(flag),
    workload: v.optional(workload),
  },
  (issue) =>
    issue.expected === "never" && issue.path?.[0]?.key === "slug"
      ? "cannot be changed; create a new entry and retire this one"
      : objectMessage(issue),
);
export type UpdateServiceInput = v.InferOutput<typeof updateServiceSchema>;

export { STORAGE_RULE_MESSAGE, storageRule };

export const slugParam = v.object({ slug: slugSchema });
