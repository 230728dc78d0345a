/**
 * The schedule syntax of a Knative PingSource: robfig/cron's standard parser
 * (five fields, month and weekday names, `?`, descriptors such as @hourly and
 * `@every 1h30m`, an optional `CRON_TZ=<zone>` prefix). Knative's webhook refuses
 * anything else; a bare API server does not, so this check stands in for it.
 *
 * @example
 * isValidSchedule("*\/5 * * * *") // true
 * isValidSchedule("every minute please") // false
 */
const months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface Field {
  min: number;
  max: number;
  names?: string[];
  /** Day fields accept `?` as "any". */
  question?: boolean;
}
const fields: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31, question: true },
  { min: 1, max: 12, names: months },
  { min: 0, max: 6, names: weekdays, question: true },
];
const descriptors = [
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
];

function value(text: string, field: Field): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + field.min;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
}

function validField(text: string, field: Field): boolean {
  return text.split(",").every((part) => {
    const [range, step, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "") return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return false;
    if (range === "*" || (range === "?" && field.question)) return true;
    const [lo, hi, more] = range.split("-");
    if (more !== undefined || lo === undefined) return false;
    const low = value(lo, field);
    if (low === undefined) return false;
    if (hi === undefined) return true;
    const high = value(hi, field);
    return high !== undefined && low <= high;
  });
}

export function isValidSchedule(schedule: string): boolean {
  let text = schedule.trim();
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz[1] });
    } catch {
      return false;
    }
    text = tz[2] ?? "";
  }
  if (text.startsWith("@")) {
    if (descriptors.includes(text)) return true;
    const every = /^@every\s+((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
    return every !== null;
  }
  const parts = text.split(/\s+/);
  return parts.length === fields.length && parts.every((p, i) => validField(p, fields[i]!));
}
