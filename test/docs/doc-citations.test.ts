import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { citationsIn, sectionsOf } from './citations.js';
import { readRepoFile, repoRoot, textFiles } from './repo.js';

/**
 * The repository explains itself: every docs citation (file and § section) a comment or a doc cites exists and has that
 * section (docs/ENOS-PROTOCOL.md and docs/PERFORMANCE-NOTES.md keep their numbering for this), and
 * nothing points outside the repository at the design notes it was planned from.
 */
const files = textFiles();

describe('citations of docs/', () => {
  it('parses the forms the code uses', () => {
    const text = '(docs/ENOS-PROTOCOL.md §5.1–§5.3, §4.1/§4.2 and §12) docs/PERFORMANCE-NOTES.md §3 K; docs/ARCHITECTURE.md';
    expect(citationsIn('x.ts', text).map((c) => `${c.doc} ${c.section ?? ''}`.trim())).toEqual([
      'docs/ENOS-PROTOCOL.md 5.1',
      'docs/ENOS-PROTOCOL.md 5.3',
      'docs/ENOS-PROTOCOL.md 4.1',
      'docs/ENOS-PROTOCOL.md 4.2',
      'docs/ENOS-PROTOCOL.md 12',
      'docs/PERFORMANCE-NOTES.md 3 K',
      'docs/ARCHITECTURE.md',
    ]);
    expect(citationsIn('x.ts', 'docs/ENOS-PROTOCOL.md\n * §7.3): text')[0]?.section).toBe('7.3');
    expect(sectionsOf('## 3. Local\n### 3 K. Memory\n### 4.1 Upstream (x)\n')).toEqual(new Set(['3', '3 K', '4.1']));
  });

  it('name docs that exist, and sections those docs have', () => {
    const sections = new Map<string, Set<string>>();
    const broken: string[] = [];
    for (const file of files) {
      for (const c of citationsIn(file, readRepoFile(file))) {
        if (!existsSync(join(repoRoot, c.doc))) {
          broken.push(`${c.file}:${c.line} cites ${c.doc}, which does not exist`);
          continue;
        }
        if (c.section === undefined || !c.doc.endsWith('.md')) continue;
        let ids = sections.get(c.doc);
        if (!ids) sections.set(c.doc, (ids = sectionsOf(readRepoFile(c.doc))));
        if (!ids.has(c.section)) broken.push(`${c.file}:${c.line} cites ${c.doc} §${c.section}, which has no such section`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the protocol and performance references are in the repository', () => {
    const protocol = sectionsOf(readRepoFile('docs/ENOS-PROTOCOL.md'));
    for (const id of ['0.2', '2.2', '4.1', '4.4', '5.3', '6', '7.3', '9.4', '12']) expect(protocol).toContain(id);
    const performance = sectionsOf(readRepoFile('docs/PERFORMANCE-NOTES.md'));
    for (const id of ['0', '2.1', '3 A', '3 K', '4']) expect(performance).toContain(id);
  });
});

describe('no reference outside the repository', () => {
  // Built from parts so that this file does not match itself.
  const designFolder = ['shared', 'design'].join('/');
  const designFiles = ['enos-protocol', 'performance', 'mdm', 'conventions'].map((n) => new RegExp(`(^|[^A-Za-z-])${n}\\.md`));

  it('no file cites the design folder or its files', () => {
    const offending = files.filter((file) => {
      const text = readRepoFile(file);
      return text.includes(designFolder) || designFiles.some((re) => re.test(text));
    });
    expect(offending).toEqual([]);
  });
});
