import { adminFunction } from "@minispod/fn-admin";
import { authFunction } from "@minispod/fn-auth";
import { billingFunction } from "@minispod/fn-billing";
import { billingSweeperFunction } from "@minispod/fn-billing-sweeper";
import { catalogFunction } from "@minispod/fn-catalog";
import { expirySweeperFunction } from "@minispod/fn-expiry-sweeper";
import { instancesFunction } from "@minispod/fn-instances";
import { notifierFunction } from "@minispod/fn-notifier";
import { outboxRelayFunction } from "@minispod/fn-outbox-relay";
import { portalFunction } from "@minispod/fn-portal";
import { provisionerFunction } from "@minispod/fn-provisioner";
import { subscriptionsFunction } from "@minispod/fn-subscriptions";
import { webhookDispatcherFunction } from "@minispod/fn-webhook-dispatcher";
import { webhooksFunction } from "@minispod/fn-webhooks";
import type { FunctionDefinition } from "@minispod/shared";

/**
 * Every function the local runner hosts. Adding a function is one line here;
 * its routes, Triggers and PingSources come from its definition and knative/.
 */
// biome-ignore lint/suspicious/noExplicitAny: each definition has its own env type.
export const functions: FunctionDefinition<any>[] = [
  authFunction,
  catalogFunction,
  subscriptionsFunction,
  billingFunction,
  outboxRelayFunction,
  notifierFunction,
  webhooksFunction,
  webhookDispatcherFunction,
  expirySweeperFunction,
  billingSweeperFunction,
  provisionerFunction,
  instancesFunction,
  adminFunction,
  portalFunction,
];
