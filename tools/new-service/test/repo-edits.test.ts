import { describe, expect, it } from 'vitest';
import { addToCommaList, appendToTopLevelBlock, insertAfterLastMatch } from '../src/repo-edits.js';

const COMPOSE = `services:
  a:
    image: a
    environment:
      DEV_CERTS_SERVICES: a,b

# A comment at the margin, inside the block.
  b:
    image: b
  # A comment after the last entry, about what follows.

# Volumes, with a comment before them.
volumes:
  a-data:
`;

describe('appendToTopLevelBlock', () => {
  it("adds after the block's last entry, past comments inside it, before those after it", () => {
    expect(appendToTopLevelBlock(COMPOSE, 'services', '\n  c:\n    image: c')).toBe(
      COMPOSE.replace('    image: b\n', '    image: b\n\n  c:\n    image: c\n'),
    );
  });

  it('adds to the last key of the file', () => {
    expect(appendToTopLevelBlock(COMPOSE, 'volumes', '  c-data:')).toBe(`${COMPOSE}  c-data:\n`);
  });

  it('throws when the key is not there', () => {
    expect(() => appendToTopLevelBlock(COMPOSE, 'networks', '  n:')).toThrow('no top-level');
  });
});

describe('insertAfterLastMatch', () => {
  it('inserts after the last matching line only', () => {
    expect(insertAfterLastMatch('- x\n- y\nz\n', /^- /, '- new')).toBe('- x\n- y\n- new\nz\n');
  });
});

describe('addToCommaList', () => {
  it('appends to the list, keeping the indentation', () => {
    expect(addToCommaList(COMPOSE, 'DEV_CERTS_SERVICES', 'c')).toContain(
      '      DEV_CERTS_SERVICES: a,b,c\n',
    );
  });
});
