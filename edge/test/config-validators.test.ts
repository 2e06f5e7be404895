import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedFile, validatorsSource } from '../src/config/validators.js';

describe('precompiled config validators', () => {
  it('match the schema: regenerate with `node --import tsx edge/src/config/validators.ts` after changing schema.ts', async () => {
    expect(await readFile(generatedFile, 'utf8')).toBe(validatorsSource());
  });
});
