import { domainState } from "@minispod/db";
import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/** The OpenAPI notes of the custom domain routes, with the wire form of `domainDto`. */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

export const domainSchema = named(
  "CustomDomain",
  v.object({
    id: uuid,
    instanceId: uuid,
    domain: v.pipe(
      v.string(),
      v.description("Lowercase ASCII; an internationalised name is shown as punycode."),
    ),
    state: v.pipe(
      v.picklist(domainState.enumValues),
      v.description(
        "PENDING_VERIFICATION until the TXT record is found, ISSUING while the certificate is requested, ACTIVE when served, FAILED with `reason`.",
      ),
    ),
    reason: v.pipe(
      v.nullable(v.string()),
      v.description("Why it is in its state, in plain words."),
    ),
    dnsRecords: v.pipe(
      v.array(
        v.object({
          type: v.picklist(["TXT", "CNAME"]),
          name: v.string(),
          value: v.string(),
        }),
      ),
      v.description(
        "What to create at the domain's DNS provider: the TXT record proves ownership, the CNAME routes the domain to the instance.",
      ),
    ),
    verifiedAt: v.nullable(timestamp),
    lastCheckedAt: v.nullable(timestamp),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);

export const addDomainBody = v.object({
  /** e.g. "shop.example.com"; an IDN is accepted and stored as punycode. */
  domain: v.pipe(
    v.string("must be a string"),
    v.nonEmpty("is required"),
    v.maxLength(300, "must be at most 253 characters"),
  ),
});

export const domainNotes = {
  list: describeRoute({
    id: "instances.domains.list",
    summary: "The instance's custom domains with their state and DNS records (owner only)",
    response: { schema: listOf(domainSchema) },
    errors: ["FORBIDDEN"],
  }),
  add: describeRoute({
    id: "instances.domains.add",
    summary: "Claim a custom domain for the instance (owner only, audited)",
    description:
      "Answers the TXT record that proves ownership and the CNAME that routes the domain. Unverified claims block nobody; the first account to verify a domain keeps it. At most DOMAINS_PER_INSTANCE (5) per instance. The platform's own domain, IP addresses and reserved names are refused (422).",
    response: {
      status: 201,
      schema: domainSchema,
      location: "/api/v1/instances/{instanceId}/domains/{id}",
    },
    errors: [
      "FORBIDDEN",
      "CONFLICT",
      "UNPROCESSABLE",
      "IDEMPOTENCY_IN_PROGRESS",
      "IDEMPOTENCY_KEY_REUSED",
    ],
    idempotent: true,
  }),
  get: describeRoute({
    id: "instances.domains.get",
    summary: "One custom domain of the instance (owner only)",
    response: { schema: domainSchema },
    errors: ["FORBIDDEN"],
  }),
  verify: describeRoute({
    id: "instances.domains.verify",
    summary: "Check now: look up the TXT record, or the certificate once verified (owner only)",
    description:
      "The answer is the domain with its new state and reason; a TXT record not found yet is not an error. 409 when another account verified the domain first.",
    response: { schema: domainSchema },
    errors: ["FORBIDDEN", "CONFLICT"],
  }),
  remove: describeRoute({
    id: "instances.domains.remove",
    summary:
      "Remove a custom domain: its route, certificate and TLS secret go shortly after (owner only, audited)",
    response: { status: 204 },
    errors: ["FORBIDDEN"],
  }),
};
