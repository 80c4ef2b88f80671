/**
 * A command line split into words the way compose splits a `command:` string (mattn/go-shellwords, without
 * variables or backticks): whitespace separates words, '…' is literal, "…" keeps \" \\ \$ \` escapes, a backslash
 * outside quotes escapes the next character. Nothing is run by a shell, so what only a shell would do (`;`, `|`,
 * `&&`, redirections, `$(…)`) is refused rather than passed on as words.
 */
/**
 * Whether a command line holds a value, as written or as it will be executed (quotes and escapes undone:
 * "Pa\\$\\$w0rd" is Pa$$w0rd).
 */
export function commandHolds(text: string, value: string): boolean {
  if (text.includes(value)) return true;
  const split = splitCommandLine(text);
  return 'words' in split && (split.words.join(' ').includes(value) || split.words.some((w) => w.includes(value)));
}

export function splitCommandLine(text: string): { words: string[] } | { problem: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= text.length) return { problem: 'ends with a lone backslash' };
      word += text[++i];
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { problem: "has a ' that is never closed" };
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && /["\\$`]/.test(text[j + 1] ?? '')) j++;
        word += text[j];
      }
      if (j >= text.length) return { problem: 'has a " that is never closed' };
      i = j;
    } else if (/[;|&<>`]/.test(c) || (c === '$' && text[i + 1] === '(')) {
      return { problem: `has ${c === '$' ? '$(' : c} outside quotes, which only a shell understands — the command is not run by a shell; write sh -c '…' to use one` };
    } else word += c;
  }
  if (inWord) words.push(word);
  return { words };
}
