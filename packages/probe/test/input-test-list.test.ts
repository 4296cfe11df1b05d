import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import { loadInputs } from '../src/input/inputs.js';
import { checkMeasurableURL } from '../src/input/measurable-url.js';
import { parseTestList, TestListError } from '../src/input/test-list.js';

const HEADER = 'url,category_code,category_description,date_added,source,notes';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-test-list-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('test-list input', () => {
  it('keeps the good rows and warns about each bad row by file and line', async () => {
    const file = path.join(dir, 'mixed.csv');
    await writeFile(
      file,
      [
        HEADER, // line 1
        'https://www.azadliq.org/,NEWS,News Media,2017-04-01,citizenlab,', // 2 good
        'http://meydan.tv/,NEWS,News Media,2017-04-01,citizenlab', // 3 five columns
        'htp//broken,NEWS,News Media,2017-04-01,citizenlab,', // 4 unparsable
        'ftp://files.example/,FILE,File-sharing,2017-04-01,citizenlab,', // 5 not http(s)
        '', // 6 empty line: ignored silently
        'https://www.azadliq.org/,NEWS,News Media,2019-01-01,OONI,"listed twice, on purpose"', // 7 duplicate
        ',NEWS,News Media,2017-04-01,citizenlab,', // 8 empty url
        'https://www.tiktok.com/,GRP,Social Networking,2022-09-15,OONI,"blocked per ISP', // 9-10: quoted
        'see research/throttling-az.md"', //    newline inside notes
        'http://www.abzas.net/,NEWS,News Media,2017-04-01,citizenlab,', // 11 good
      ].join('\n'),
    );
    const loaded = await loadInputs({ inputs: [], lists: [{ path: file, displayName: 'mixed.csv' }] });

    expect(loaded.urls.map((u) => u.url)).toEqual([
      'https://www.azadliq.org/',
      'https://www.tiktok.com/',
      'http://www.abzas.net/',
    ]);
    expect(loaded.urls.map((u) => u.categoryCode)).toEqual(['NEWS', 'GRP', 'NEWS']);
    expect(loaded.warnings).toHaveLength(5);
    expect(loaded.warnings[0]).toMatch(/^mixed\.csv:3: 5 columns where the header has 6; skipped$/);
    expect(loaded.warnings[1]).toMatch(/^mixed\.csv:4: invalid URL "htp\/\/broken": not a valid URL/);
    expect(loaded.warnings[2]).toMatch(
      /^mixed\.csv:5: invalid URL "ftp:\/\/files\.example\/": scheme "ftp" is not http or https/,
    );
    expect(loaded.warnings[3]).toMatch(/^mixed\.csv:8: empty url/);
    expect(loaded.warnings[4]).toBe(
      'mixed.csv:7: duplicate of mixed.csv:2 (https://www.azadliq.org/); measured once',
    );
    // The row after the multi-line quoted field is still numbered by its own line.
    expect(loaded.urls[2]?.origin).toBe('mixed.csv:11');
  });

  it('counts lines correctly in CRLF files', () => {
    const parsed = parseTestList(
      `${HEADER}\r\nhttp://a.example/,NEWS,,,,\r\nnot a url,NEWS,,,,\r\n`,
      'crlf.csv',
    );
    expect(parsed.entries.map((e) => e.origin)).toEqual(['crlf.csv:2']);
    expect(parsed.warnings[0]).toMatch(/^crlf\.csv:3: /);
  });

  it('refuses a file without a url column, naming the file', () => {
    expect(() => parseTestList('address,category_code\nhttp://a.example/,NEWS\n', 'lists/bad.csv')).toThrow(
      TestListError,
    );
    expect(() => parseTestList('address,category_code\n', 'lists/bad.csv')).toThrow(
      /lists\/bad\.csv.*no "url" column/,
    );
    expect(() => parseTestList('', 'empty.csv')).toThrow(/empty\.csv is empty/);
  });

  it('warns about an unclosed quote and keeps the rows before it', () => {
    const parsed = parseTestList(
      `${HEADER}\nhttp://a.example/,NEWS,,,,\nhttp://b.example/,NEWS,,,,"open\n`,
      'q.csv',
    );
    expect(parsed.entries.map((e) => e.url)).toEqual(['http://a.example/']);
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatch(
      /^q\.csv:3: a quote opened on this row is never closed; lines 3-\d+ skipped$/,
    );
  });

  it('merges --input URLs and lists, measuring each URL once', async () => {
    const file = path.join(dir, 'small.csv');
    await writeFile(file, `${HEADER}\nhttp://a.example/,NEWS,,,,\nhttp://b.example/,GRP,,,,\n`);
    const loaded = await loadInputs({
      inputs: ['HTTP://A.example'],
      lists: [{ path: file, displayName: 'small.csv' }],
    });
    expect(loaded.urls.map((u) => u.url)).toEqual(['HTTP://A.example', 'http://b.example/']);
    expect(loaded.warnings).toEqual(['small.csv:2: duplicate of --input (HTTP://A.example); measured once']);
  });

  it('says why a URL cannot be measured', () => {
    expect(checkMeasurableURL('https://x.example/path?q=1')).toMatchObject({ ok: true });
    expect(checkMeasurableURL('htp://x')).toEqual({ ok: false, reason: 'scheme "htp" is not http or https' });
    expect(checkMeasurableURL('example.org')).toEqual({
      ok: false,
      reason: 'not a valid URL (no scheme: write http:// or https:// before the host)',
    });
    expect(checkMeasurableURL('  ')).toEqual({ ok: false, reason: 'the URL is empty' });
  });

  const azList = sharedData('test-lists/az.csv');
  it.skipIf(azList === null)('reads the real Azerbaijan test list: 110 URLs, no warnings', async () => {
    const loaded = await loadInputs({
      inputs: [],
      lists: [{ path: azList as string, displayName: 'az.csv' }],
    });
    expect(loaded.warnings).toEqual([]);
    expect(loaded.urls).toHaveLength(110);
    expect(loaded.urls.every((u) => /^https?:\/\//.test(u.url) && u.categoryCode !== null)).toBe(true);
  });
});
