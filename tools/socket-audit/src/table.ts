import type { AuditRow } from './checks.js';

const COLUMNS = ['check', 'subject', 'verdict', 'detail'] as const;

/** A plain-text table, columns padded to their widest cell; the detail column last, unpadded. */
export function formatTable(rows: AuditRow[]): string {
  const widths = COLUMNS.map((column) =>
    Math.max(column.length, ...rows.map((auditRow) => auditRow[column].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ');
  return [
    line([...COLUMNS]),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((auditRow) => line(COLUMNS.map((column) => auditRow[column]))),
  ].join('\n');
}
