/**
 * Prints a table as Markdown, its columns padded to line up in a terminal too: the first
 * `textColumns` left-aligned, the figures after them right-aligned. The benches' tables are
 * pasted into docs/performance.md and the ADRs as they print.
 */
export function printMarkdownTable(header: string[], lines: string[][], textColumns: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= textColumns ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(format(header));
  console.log(
    `|${widths.map((w, i) => (i >= textColumns ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
  );
  for (const line of lines) console.log(format(line));
}
