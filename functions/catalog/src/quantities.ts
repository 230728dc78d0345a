import * as v from "valibot";

/**
 * Kubernetes resource quantities, restricted to the forms people actually
 * write in manifests. The full grammar (exponents like `1e3`, signs) is legal
 * for the API server but only ever appears by mistake in a catalog entry, so
 * it is rejected here with a message saying what to write instead.
 */

const BINARY = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
} as const;
const DECIMAL = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 } as const;

const CPU = /^(?:(\d+)m|(\d+(?:\.\d{1,3})?|\.\d{1,3}))$/;
const BYTES = /^(\d+(?:\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/**
 * CPU quantity -> millicores, or undefined when it is not a plain CPU quantity.
 * More than three decimals is rejected: Kubernetes cannot express less than 1m.
 *
 * @example
 * parseCpuMillicores("250m"); // 250
 * parseCpuMillicores("0.5");  // 500
 * parseCpuMillicores("2");    // 2000
 */
export function parseCpuMillicores(quantity: string): number | undefined {
  const match = CPU.exec(quantity);
  if (!match) return undefined;
  if (match[1] !== undefined) return Number(match[1]);
  // Three decimals at most, so rounding only removes floating-point noise.
  return Math.round(Number(match[2]) * 1000);
}

/**
 * Memory or storage quantity -> bytes, or undefined when it is not a plain
 * byte quantity or is not a whole number of bytes (e.g. "0.1Ki").
 *
 * @example
 * parseBytes("512Mi"); // 536870912
 * parseBytes("1G");    // 1000000000
 */
export function parseBytes(quantity: string): number | undefined {
  const match = BYTES.exec(quantity);
  if (!match) return undefined;
  const unit = (match[2] ?? "") as keyof typeof BINARY | keyof typeof DECIMAL;
  const factor =
    unit in BINARY ? BINARY[unit as keyof typeof BINARY] : DECIMAL[unit as keyof typeof DECIMAL];
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) return undefined;
  return bytes;
}

export interface QuantityBounds {
  min: number;
  max: number;
}

const MI = 2 ** 20;
const GI = 2 ** 30;

/** Defaults sized for one hosted app: anything outside is almost certainly a typo. */
export const quantityBounds = {
  cpuMillicores: { min: 10, max: 16_000 },
  memoryBytes: { min: 16 * MI, max: 64 * GI },
  storageBytes: { min: 100 * MI, max: 2 * 1024 * GI },
} as const satisfies Record<string, QuantityBounds>;

const text = (what: string) => v.string(`must be a ${what} quantity string`);

/**
 * valibot schema for a CPU quantity such as "250m", "1" or "0.5", between
 * `bounds` (millicores).
 *
 * @example
 * v.parse(cpuQuantity(), "250m"); // "250m"
 */
export function cpuQuantity(bounds: QuantityBounds = quantityBounds.cpuMillicores) {
  return v.pipe(
    text("CPU"),
    v.check(
      (q) => parseCpuMillicores(q) !== undefined,
      'must be a CPU quantity like "250m", "1" or "0.5" (at most three decimals)',
    ),
    v.check(
      (q) => {
        // Unparseable input was already reported above.
        const m = parseCpuMillicores(q);
        return m === undefined || (m >= bounds.min && m <= bounds.max);
      },
      `must be between ${bounds.min}m and ${bounds.max / 1000} CPUs`,
    ),
    // The checks above, for the API document (the bounds only in words).
    v.metadata({
      pattern: CPU.source,
      description: `CPU, between ${bounds.min}m and ${bounds.max / 1000} CPUs.`,
      examples: [`${bounds.min}m`],
    }),
  );
}

function byteQuantity(what: string, example: string, bounds: QuantityBounds) {
  return v.pipe(
    text(what),
    v.check(
      (q) => parseBytes(q) !== undefined,
      `must be a ${what} quantity like ${example} (a whole number of bytes with an optional suffix Ki, Mi, Gi, Ti, k, M, G, T)`,
    ),
    v.check(
      (q) => {
        const bytes = parseBytes(q);
        return bytes === undefined || (bytes >= bounds.min && bytes <= bounds.max);
      },
      `must be between ${formatBytes(bounds.min)} and ${formatBytes(bounds.max)}`,
    ),
    // The checks above, for the API document (the bounds only in words).
    v.metadata({
      // Whole numbers only: a fraction may not come to a whole number of bytes.
      pattern: "^[0-9]+(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$",
      description: `${what}, between ${formatBytes(bounds.min)} and ${formatBytes(bounds.max)}.`,
      examples: [formatBytes(bounds.min)],
    }),
  );
}

/** valibot schema for a memory quantity such as "512Mi" or "1Gi". */
export const memoryQuantity = (bounds: QuantityBounds = quantityBounds.memoryBytes) =>
  byteQuantity("memory", '"512Mi" or "1Gi"', bounds);

/** valibot schema for a storage (PVC) quantity such as "5Gi". */
export const storageQuantity = (bounds: QuantityBounds = quantityBounds.storageBytes) =>
  byteQuantity("storage", '"5Gi"', bounds);

/** Bytes in the largest binary unit that divides them evenly: 1073741824 -> "1Gi". */
export function formatBytes(bytes: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    if (bytes >= BINARY[unit] && bytes % BINARY[unit] === 0)
      return `${bytes / BINARY[unit]}${unit}`;
  }
  return String(bytes);
}
