/** The main table of issue 9 (filled in by the next commits). */
export async function run(_args: string[] = []) {
  console.log("main table: not yet");
}
