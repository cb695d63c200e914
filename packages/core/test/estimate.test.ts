import { encode as encodeCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { encode as encodeO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidArgumentError } from '../src/errors.js';
import {
  type ChatEstimatorOptions,
  type ChatRequestLike,
  chatEstimator,
  defaultChatEstimator,
  estimateTextTokens,
} from '../src/estimate.js';

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('estimateTextTokens', () => {
  it.each([
    ['', 0],
    ['hi', 1],
    ['hello', 2], // ⌈5 / 4⌉
    ['Hello, world!', 6], // 2 + 1 + 2 + 1
    ['the cat sat', 3], // single spaces are free
    ['getUserName', 3], // camelCase humps: get + User + Name
    ['snake_case_name', 4], // '_' is a letter: ⌈15 / 4⌉
    ['café', 2], // ⌈(3 + 4) / 4⌉
    ['1234567', 3], // ⌈7 / 3⌉
    ['x 42', 3], // x + the space before a number + 42
    ['");', 2], // 1 + ½ + ½
    ['a  b', 3], // a + 2 spaces + b
    ['{\n    x', 4], // { + (⌈5 / 16⌉ + 1 for the line break) + x
    ['你好', 3], // 1.5 per Han ideograph
    ['你好，世界！', 8], // 4 × 1.5 + 2 full-width punctuation marks
    ['から', 2], // 1 per kana
    ['안녕', 3], // 1.5 per Hangul syllable
    ['привет', 4], // ⌈6 / 1.5⌉
    ['αβγ', 3], // Greek: 1 per letter
    ['😀', 3], // 1.5 per UTF-16 unit
  ])('%j costs %i', (text, tokens) => {
    expect(estimateTextTokens(text)).toBe(tokens);
  });

  it('charges long whitespace runs', () => {
    expect(estimateTextTokens(`a${' '.repeat(40)}b`)).toBe(5); // 1 + ⌈40 / 16⌉ + 1
    expect(estimateTextTokens('a\n\n\nb')).toBe(4); // 1 + (1 + 1) + 1
  });

  it('returns an integer proportional to the length of long texts', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(2_000);
    const tokens = estimateTextTokens(text);
    expect(Number.isInteger(tokens)).toBe(true);
    expect(tokens).toBe(2_000 * estimateTextTokens('The quick brown fox jumps over the lazy dog.'));
  });
});

describe('chatEstimator', () => {
  const user = (content: string): ChatRequestLike => ({ messages: [{ role: 'user', content }] });

  it('adds per-request and per-message overhead to the text of each message', () => {
    expect(defaultChatEstimator.estimate(user('Hi'))).toEqual({ prompt: 8, output: 1024 }); // 3 + 4 + 1
    expect(
      defaultChatEstimator.estimate({
        messages: [
          { role: 'system', content: 'hello' },
          { role: 'user', content: 'hi' },
        ],
      }).prompt,
    ).toBe(14); // 3 + (4 + 2) + (4 + 1)
    expect(defaultChatEstimator.estimate({ messages: [] }).prompt).toBe(3);
  });

  it('counts null or missing content as empty', () => {
    const request: ChatRequestLike = {
      messages: [{ role: 'assistant', content: null }, { role: 'user' }],
    };
    expect(defaultChatEstimator.estimate(request).prompt).toBe(11); // 3 + 4 + 4
  });

  it('counts the name and the tool calls of a message', () => {
    expect(
      defaultChatEstimator.estimate({ messages: [{ role: 'user', name: 'alice', content: 'hi' }] })
        .prompt,
    ).toBe(10); // 3 + 4 + 2 + 1
    const request: ChatRequestLike = {
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { function: { name: 'noop' } },
            {},
          ],
        },
      ],
    };
    // 3 + 4 + get_weather (3) + {"city":"Paris"} (1.5 + 1 + 2 + 2 + 1.5 = 8) + noop (1)
    expect(defaultChatEstimator.estimate(request).prompt).toBe(19);
    // openai 6's custom tool calls: their name and input, as text
    const custom: ChatRequestLike = {
      messages: [
        {
          role: 'assistant',
          tool_calls: [
            { type: 'custom', custom: { name: 'get_weather', input: '{"city":"Paris"}' } },
          ],
        },
      ],
    };
    expect(defaultChatEstimator.estimate(custom).prompt).toBe(18); // 3 + 4 + 3 + 8
  });

  it('counts text parts as text and every other part as an image', () => {
    const request: ChatRequestLike = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hi' },
            { type: 'image_url' },
            { type: 'text', text: 'hello' },
            { type: 'input_audio' },
          ],
        },
      ],
    };
    expect(defaultChatEstimator.estimate(request).prompt).toBe(2010); // 3 + 4 + 1 + 2 + 2 × 1000
    expect(chatEstimator({ perImageTokens: 85 }).estimate(request).prompt).toBe(180);
  });

  it('counts tools through their JSON', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    // [{"type":"function","function":{"name":"f"}}]
    // [{" 2, type 1, ":" 2, function 2, "," 2, function 2, ":{" 2.5, name 1, ":" 2, f 1, "}}] 2.5
    expect(estimateTextTokens(JSON.stringify(tools))).toBe(20);
    expect(defaultChatEstimator.estimate({ messages: [], tools }).prompt).toBe(23);
    expect(defaultChatEstimator.estimate({ messages: [], tools: [] }).prompt).toBe(3);
  });

  it('reserves the output cap, the default otherwise, times n', () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    const output = (request: Omit<ChatRequestLike, 'messages'>) =>
      defaultChatEstimator.estimate({ messages, ...request }).output;
    expect(output({})).toBe(1024);
    expect(output({ max_tokens: 100 })).toBe(100);
    expect(output({ max_tokens: 0 })).toBe(0);
    expect(output({ max_tokens: 100, max_completion_tokens: 50 })).toBe(50);
    expect(output({ max_tokens: 100, max_completion_tokens: null })).toBe(100);
    expect(output({ max_tokens: null, max_completion_tokens: null })).toBe(1024);
    expect(output({ max_tokens: 100, n: 3 })).toBe(300);
    expect(output({ n: null })).toBe(1024);
    expect(chatEstimator({ expectedOutputTokens: 256 }).estimate({ messages, n: 2 }).output).toBe(
      512,
    );
  });

  it('applies the overhead options', () => {
    const estimator = chatEstimator({ perMessageTokens: 0, perRequestTokens: 0 });
    expect(estimator.estimate(user('hello'))).toEqual({ prompt: 2, output: 1024 });
    const framed = chatEstimator({ perMessageTokens: 10, perRequestTokens: 7 });
    expect(
      framed.estimate({ messages: [user('hi').messages[0]!, user('hi').messages[0]!] }),
    ).toEqual(
      { prompt: 29, output: 1024 }, // 7 + 2 × (10 + 1)
    );
  });

  it('matches chatEstimator() with its defaults', () => {
    const request: ChatRequestLike = {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image' }] },
      ],
      max_tokens: 300,
    };
    expect(defaultChatEstimator.estimate(request)).toEqual(chatEstimator().estimate(request));
    expect(defaultChatEstimator.estimate(request)).toEqual({ prompt: 1009, output: 300 });
  });

  it.each([
    ['max_tokens', -1],
    ['max_tokens', Number.NaN],
    ['max_tokens', Number.POSITIVE_INFINITY],
    ['max_tokens', 1.5],
    ['max_completion_tokens', -5],
    ['max_completion_tokens', Number.NEGATIVE_INFINITY],
    ['n', 0],
    ['n', 1.5],
    ['n', -1],
  ] as const)('rejects %s = %s in a request', (key, value) => {
    const request = { messages: [], [key]: value } as ChatRequestLike;
    const error = captured(() => defaultChatEstimator.estimate(request));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(`request.${key}`);
    expect((error as InvalidArgumentError).code).toBe('TOLLGATE_INVALID_ARGUMENT');
  });

  it('rejects tools that cannot be serialised', () => {
    const tool: Record<string, unknown> = { type: 'function' };
    tool.self = tool;
    const error = captured(() => defaultChatEstimator.estimate({ messages: [], tools: [tool] }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('request.tools');
  });
});

describe('chatEstimator options', () => {
  const keys = [
    'expectedOutputTokens',
    'perMessageTokens',
    'perRequestTokens',
    'perImageTokens',
  ] as const;
  const invalid = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3' as unknown as number];

  it.each(keys.flatMap((key) => invalid.map((value) => [key, value] as const)))(
    'rejects %s = %s',
    (key, value) => {
      const error = captured(() => chatEstimator({ [key]: value }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).option).toBe(`chatEstimator.${key}`);
      expect((error as ConfigurationError).code).toBe('TOLLGATE_CONFIGURATION');
    },
  );

  it.each(keys)('accepts %s = 0', (key) => {
    expect(() => chatEstimator({ [key]: 0 })).not.toThrow();
  });

  it('rejects unknown options', () => {
    const options = { perToolTokens: 5 } as ChatEstimatorOptions;
    const error = captured(() => chatEstimator(options));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('chatEstimator.perToolTokens');
  });

  it('rejects options that are not an object', () => {
    const error = captured(() => chatEstimator(null as unknown as ChatEstimatorOptions));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe('chatEstimator');
  });

  it('treats undefined options as defaults', () => {
    const options = { expectedOutputTokens: undefined } as unknown as ChatEstimatorOptions;
    expect(chatEstimator(options).estimate({ messages: [] })).toEqual({ prompt: 3, output: 1024 });
  });
});

// A fixed corpus, written for this test. The estimate must not fall much under either
// tokenizer (never under for CJK) and must not over-count by more than 2.5×.
const CORPUS: ReadonlyArray<{
  readonly name: string;
  readonly cjk: boolean;
  readonly text: string;
}> = [
  {
    name: 'english prose',
    cjk: false,
    text:
      'The river had been rising for three days before anyone in the village took it seriously. ' +
      'By Thursday morning the water was lapping at the steps of the old mill, and the baker, ' +
      'who had lived through the great flood of his childhood, began carrying sacks of flour up ' +
      'to the attic. Nobody laughed at him this time. The schoolteacher organised a rota for the ' +
      'sandbags, and the children, delighted to be excused from lessons, ran messages between the ' +
      "farms. It's strange how quickly a community remembers what it has forgotten.",
  },
  {
    name: 'json',
    cjk: false,
    text: JSON.stringify(
      {
        id: 'req_8f3a2c91',
        model: 'gpt-4o-mini',
        created: 1718131200,
        user: { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'billing'] },
        items: [
          { sku: 'TG-1001', qty: 2, price: 19.99, tags: ['blue', 'large'] },
          { sku: 'TG-2044', qty: 1, price: 249.5, tags: [] },
        ],
        shipping: { method: 'express', address: { city: 'Lisbon', zip: '1100-148' } },
        paid: true,
        notes: null,
      },
      null,
      2,
    ),
  },
  {
    name: 'typescript',
    cjk: false,
    text: [
      "import { readFile } from 'node:fs/promises';",
      '',
      'export interface Entry {',
      '  readonly key: string;',
      '  readonly value: number;',
      '}',
      '',
      'export async function loadEntries(path: string): Promise<Entry[]> {',
      "  const raw = await readFile(path, 'utf8');",
      '  const entries: Entry[] = [];',
      "  for (const line of raw.split('\\n')) {",
      "    const [key, value] = line.split('=');",
      '    if (key === undefined || value === undefined) continue;',
      '    const parsed = Number.parseFloat(value.trim());',
      '    if (Number.isFinite(parsed)) {',
      '      entries.push({ key: key.trim(), value: parsed });',
      '    }',
      '  }',
      '  return entries.sort((a, b) => a.value - b.value);',
      '}',
    ].join('\n'),
  },
  {
    name: 'chinese',
    cjk: true,
    text:
      '春天到了，山坡上的桃花一夜之间全都开了。村里的老人说，今年的雨水比往年多，庄稼一定会有好收成。' +
      '孩子们放学以后不急着回家，而是沿着小河一路追逐打闹，直到太阳落山才依依不舍地散去。' +
      '镇上新开了一家书店，店主是一位从城里回来的年轻人，他希望让更多的乡亲读到好书。' +
      '每逢周末，书店里总是坐满了人，有人安静地翻阅杂志，有人低声讨论刚读完的小说。',
  },
  {
    name: 'japanese',
    cjk: true,
    text:
      '昨日は朝から雨が降っていたので、一日中家で本を読んで過ごしました。' +
      '午後になって少し晴れてきたので、近くの公園まで散歩に出かけました。' +
      '池のほとりでは、子どもたちがカモにパンをあげていて、とても楽しそうでした。' +
      '帰り道に新しいパン屋を見つけたので、クロワッサンとメロンパンを買ってみました。' +
      'どちらも焼きたてで、とてもおいしかったです。来週もまた行きたいと思います。',
  },
  {
    name: 'korean',
    cjk: true,
    text:
      '오늘은 아침 일찍 일어나서 가까운 산에 다녀왔습니다. 날씨가 맑고 바람이 시원해서 ' +
      '걷기에 아주 좋았습니다. 정상에 올라가니 도시 전체가 한눈에 내려다보였고, ' +
      '멀리 바다까지 보였습니다. 내려오는 길에 작은 식당에 들러 따뜻한 국수를 먹었는데, ' +
      '주인 할머니께서 반찬을 넉넉하게 챙겨 주셔서 정말 감사했습니다. 다음 주에는 친구들과 ' +
      '함께 다시 오기로 약속했습니다.',
  },
  {
    name: 'mixed zh+en',
    cjk: true,
    text:
      '我们在 production 环境里部署了新的 rate limiter，用来控制对 OpenAI API 的调用频率。' +
      '每个 request 在发送之前都会先估算 token 数量，然后向 limiter 申请额度。' +
      '如果 TPM 限额不够，请求会在队列里等待，直到 sliding window 里有足够的空间。' +
      '上线一周以后，429 错误从每天两千多次下降到了个位数，P99 延迟也稳定在 800ms 以内。',
  },
  {
    name: 'russian',
    cjk: false,
    text:
      'Вечером над городом прошла сильная гроза, и на улицах быстро образовались глубокие лужи. ' +
      'Прохожие прятались под навесами магазинов и терпеливо ждали, когда закончится дождь. ' +
      'Через полчаса небо прояснилось, и над рекой появилась яркая радуга. Дети выбежали во двор ' +
      'и начали пускать бумажные кораблики, а старики на скамейке обсуждали урожай яблок.',
  },
  {
    name: 'numbers',
    cjk: false,
    text:
      'Q3 2024 results: revenue 12,845,300 USD (+18.4% YoY), gross margin 61.2%, opex 4,210,775. ' +
      'Orders: 2024-07-01 #48213 x3 @ 19.99; 2024-07-02 #48290 x12 @ 4.75; 2024-07-05 #48377 x1 @ 1249.00. ' +
      'Coordinates 38.7223, -9.1393; 40.4168, -3.7038; 51.5074, -0.1278. ' +
      'Phone +351 213 456 789, IBAN PT50 0002 0123 1234 5678 9015 4, ticket 7730-1182-9945-0031.',
  },
];

describe('estimateTextTokens accuracy against cl100k_base and o200k_base', () => {
  it.each(CORPUS)('$name', ({ text, cjk }) => {
    const actual = Math.max(encodeCl100k(text).length, encodeO200k(text).length);
    const ratio = estimateTextTokens(text) / actual;
    expect(ratio).toBeGreaterThanOrEqual(cjk ? 1 : 0.9);
    expect(ratio).toBeLessThanOrEqual(2.5);
  });
});
