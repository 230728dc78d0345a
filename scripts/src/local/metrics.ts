/**
 * Merges the Prometheus text of several registries that share metric names
 * (every function has http_requests_total): one HELP/TYPE header per family,
 * then every sample, which differ by their `function` label.
 */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { header: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (!line) continue;
      const help = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (help) {
        const name = help[2]!;
        let family = families.get(name);
        if (!family) {
          family = { header: [], samples: [] };
          families.set(name, family);
        }
        if (!family.header.some((h) => h.startsWith(`# ${help[1]} `))) family.header.push(line);
        current = family;
        continue;
      }
      current?.samples.push(line);
    }
  }
  return `${[...families.values()].map((f) => [...f.header, ...f.samples].join("\n")).join("\n")}\n`;
}
