/**
 * Points an overlay's kustomize `images:` at what scripts/deploy/images.sh
 * pushed: for each function, newName <registry>/minispod/fn-<name> and newTag
 * <tag> — the edit `kustomize edit set image` makes, without needing kustomize,
 * and keeping the file's comments.
 *
 *   tsx scripts/src/deploy/set-images.ts <kustomization.yaml> <registry> <tag> <name>...
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isMap, isSeq, parseDocument } from "yaml";

export function setImages(text: string, registry: string, tag: string, names: string[]): string {
  if (!/^[\w.-]+$/.test(tag) || tag === "latest")
    throw new Error(`tag "${tag}" must be a pinned tag (letters, digits, . _ -), not latest`);
  const document = parseDocument(text);
  if (!document.has("images")) document.set("images", document.createNode([]));
  const images = document.get("images");
  if (!isSeq(images)) throw new Error("images: is not a list");
  const prefix = registry.replace(/\/+$/, "");
  for (const name of names) {
    const image = `minispod/fn-${name}`;
    const entry = { name: image, newName: `${prefix}/${image}`, newTag: tag };
    const existing = images.items.find((item) => isMap(item) && item.get("name") === image);
    if (isMap(existing)) {
      existing.set("newName", entry.newName);
      existing.set("newTag", entry.newTag);
      existing.delete("digest");
    } else {
      images.add(document.createNode(entry));
    }
  }
  return document.toString();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  const [file, registry, tag, ...names] = process.argv.slice(2);
  if (!file || !registry || !tag || names.length === 0) {
    console.error("usage: set-images.ts <kustomization.yaml> <registry> <tag> <name>...");
    process.exit(2);
  }
  writeFileSync(file, setImages(readFileSync(file, "utf8"), registry, tag, names));
  console.log(`${file}: ${names.length} images at ${registry} tag ${tag}`);
}
