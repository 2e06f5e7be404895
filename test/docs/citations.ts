/**
 * Citations of the repository's own docs in code and docs: `docs/ENOS-PROTOCOL.md §4.1, §5.4`,
 * `docs/PERFORMANCE-NOTES.md §3 K`, `§5.1–§5.3`. A section is named by the heading that starts with
 * its number (`### 4.1 Upstream`, `### 3 K. Connections`), as docs/ENOS-PROTOCOL.md and
 * docs/PERFORMANCE-NOTES.md are written.
 */

export interface Citation {
  file: string;
  line: number;
  doc: string;
  section?: string;
}

const docReference = /docs\/([A-Za-z0-9_-]+\.md)/g;
// Between two section marks of one citation: spaces, line breaks with their comment markers, commas,
// slashes, dashes and "and"; a closing parenthesis or any other word ends the citation.
const nextSection = /^(?:[\s,;/*]|–|—|-|\band\b)*?§\s?(\d+(?:\.\d+)*)(?:\s([A-Z])(?![A-Za-z0-9]))?/;
const rangeEnd = /^\s?[–-]\s?(\d+(?:\.\d+)*)(?![.\d])/;

export function citationsIn(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  for (const match of text.matchAll(docReference)) {
    const doc = `docs/${match[1]}`;
    const line = text.slice(0, match.index).split('\n').length;
    let rest = text.slice(match.index + match[0].length);
    let any = false;
    for (;;) {
      const section = nextSection.exec(rest);
      if (!section) break;
      any = true;
      found.push({ file, line, doc, section: section[2] ? `${section[1]} ${section[2]}` : section[1] });
      rest = rest.slice(section[0].length);
      const range = rangeEnd.exec(rest);
      if (range) {
        found.push({ file, line, doc, section: range[1] });
        rest = rest.slice(range[0].length);
      }
    }
    if (!any) found.push({ file, line, doc });
  }
  return found;
}

const heading = /^#{1,6}\s+§?(\d+(?:\.\d+)*)\.?(?:\s([A-Z])(?![A-Za-z0-9]))?/;

/** The section ids a doc defines: `4.1`, `3`, `3 K`. */
export function sectionsOf(markdown: string): Set<string> {
  const ids = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = heading.exec(line);
    if (!m) continue;
    ids.add(m[1]!);
    if (m[2]) ids.add(`${m[1]} ${m[2]}`);
  }
  return ids;
}
