/**
 * Just enough Kubernetes quantity arithmetic to add up plans: CPU in
 * millicores, memory and storage in bytes, printed back in the largest
 * binary unit that keeps them whole.
 */
const BYTE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** "250m" -> 250, "0.5" -> 500, "2" -> 2000. */
export function cpuMillis(quantity: string): number {
  const m = /^(\d+)m$/.exec(quantity);
  if (m) return Number(m[1]);
  const n = Number(quantity);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a CPU quantity: ${quantity}`);
  return Math.round(n * 1000);
}

/** "512Mi" -> 536870912, "1G" -> 1e9. */
export function bytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)([kMGT]i?|Ki)?$/.exec(quantity);
  const unit = BYTE_UNITS[m?.[2] ?? ""];
  if (!m || unit === undefined) throw new RangeError(`not a byte quantity: ${quantity}`);
  return Math.round(Number(m[1]) * unit);
}

export const formatCpu = (millis: number) =>
  millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;

export function formatBytes(n: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki"] as const) {
    const size = BYTE_UNITS[unit] as number;
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}
