/**
 * Finds out from a function's own app which event types it handles at /events
 * and which cron jobs it answers at /cron/<job>, so the knative/ checks need no
 * hand-kept list that could drift from the code.
 */
import { randomUUID } from "node:crypto";

type Request = (path: string, init: RequestInit) => Promise<Response> | Response;

/**
 * Sends each type as a CloudEvent whose data can never match a schema: a type
 * the function handles is refused for good (422, before any database work), a
 * type it does not handle is answered 200 "ignored", and a function without
 * /events answers 404 to all of them.
 */
export async function consumedTypes(request: Request, types: string[]): Promise<string[]> {
  const handled: string[] = [];
  for (const type of types) {
    const res = await request("/events", {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": randomUUID(),
        "ce-source": "knative-checks",
        "ce-type": type,
        "content-type": "application/json",
      },
      body: JSON.stringify("not the data of any event"),
    });
    await res.body?.cancel();
    if (res.status === 422) handled.push(type);
    else if (res.status !== 200 && res.status !== 404)
      throw new Error(`POST /events with ${type} answered ${res.status}`);
  }
  return handled;
}

/**
 * Which of `jobs` the function answers at POST /cron/<job>. An unknown job is a
 * 404; a known one runs (jobs are idempotent sweeps, by contract), so call this
 * against a test database.
 */
export async function answeredCronJobs(request: Request, jobs: string[]): Promise<string[]> {
  const answered: string[] = [];
  for (const job of jobs) {
    const res = await request(`/cron/${job}`, { method: "POST" });
    await res.body?.cancel();
    if (res.status !== 404) answered.push(job);
  }
  return answered;
}
