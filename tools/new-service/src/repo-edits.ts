// The edits the generator makes to files every service shares (docker-compose.yml, the
// Prometheus config, the kustomizations, the contracts' index). Each is a small text edit at a
// place the file's own structure names, so the file's comments and layout stay as they are
// (a YAML library would rewrite both).

/**
 * `text` with `addition` appended to the block of the top-level YAML key `key`: after the
 * block's last indented line, before the blank lines and comments that lead to the next key.
 */
export function appendToTopLevelBlock(text: string, key: string, addition: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`${key}:`);
  if (start === -1) throw new Error(`no top-level "${key}:" to add to`);
  let last = start;
  for (let i = start + 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.startsWith(' ') && line.trim() !== '' && !line.trim().startsWith('#')) last = i;
    else if (line !== '' && !line.startsWith(' ') && !line.startsWith('#')) break;
  }
  lines.splice(last + 1, 0, ...withoutFinalNewline(addition).split('\n'));
  return lines.join('\n');
}

/** `text` with `addition` inserted after the last line that matches `pattern`. */
export function insertAfterLastMatch(text: string, pattern: RegExp, addition: string): string {
  const lines = text.split('\n');
  const last = lines.findLastIndex((line) => pattern.test(line));
  if (last === -1) throw new Error(`no line matches ${pattern}`);
  lines.splice(last + 1, 0, ...withoutFinalNewline(addition).split('\n'));
  return lines.join('\n');
}

/** `text` with `item` added to the comma-separated value of the `variable: a,b` line. */
export function addToCommaList(text: string, variable: string, item: string): string {
  const pattern = new RegExp(`^(\\s*${variable}: )(.*)$`, 'm');
  if (!pattern.test(text)) throw new Error(`no "${variable}:" line`);
  return text.replace(pattern, (_line, head: string, list: string) => {
    const items = list.split(',').filter((entry) => entry !== '');
    return `${head}${[...items, item].join(',')}`;
  });
}

function withoutFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
