/** Small helpers shared by the benchmarks. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
export const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
