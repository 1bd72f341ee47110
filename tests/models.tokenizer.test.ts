// Tokenizers and chat templates: the byte-level tokenizer, a hand-written byte-level BPE and a
// WordLevel tokenizer.json run through @huggingface/tokenizers, the prompt-prefix check, folder
// loading, and chat templates rendered through @huggingface/jinja.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { assert, test } from "./harness.ts";
import {
  ByteTokenizer,
  byteTokenizerFromConfig,
  checkPromptPrefix,
  tokenizePair,
} from "../models/tokenizer.ts";
import { HfTokenizer, loadHfTokenizer, loadTokenizer } from "../models/hf-tokenizer.ts";
import { applyChatTemplate, ChatTemplateError, renderChatTemplate } from "../models/chat-template.ts";

// ---- a tiny GPT-2-style byte-level BPE, written out here ------------------------------------------

/** GPT-2's byte → printable character table, computed from its definition. */
const byteChars = (): string[] => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return chars;
};

const merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"];

const bpeJson = (): Record<string, unknown> => {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, b) => (vocab[c] = b));
  merges.forEach((m, i) => (vocab[m.replace(" ", "")] = 256 + i));
  vocab["<|endoftext|>"] = 256 + merges.length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: 265,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
};

const HELLO = 259, G_WORLD = 264, EOT = 265, SPACE = 32, W = 119, OR = 261, LD = 263;

const wordLevelJson = (withUnk: boolean): Record<string, unknown> => ({
  version: "1.0",
  added_tokens: [{
    id: 4,
    content: "</s>",
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }],
  normalizer: null,
  pre_tokenizer: { type: "Whitespace" },
  post_processor: null,
  decoder: null,
  model: {
    type: "WordLevel",
    vocab: { "[UNK]": 0, the: 1, cat: 2, sat: 3, "</s>": 4 },
    ...(withUnk ? { unk_token: "[UNK]" } : {}),
  },
});

// ---- byte-level tokenizer -------------------------------------------------------------------------

test("ByteTokenizer: UTF-8 bytes, special tokens in text, decode, ids out of range", () => {
  const tok = new ByteTokenizer();
  assert.equal(tok.vocabSize, 259);
  assert.deepEqual([tok.eosId, tok.padId, tok.bosId], [256, 257, 258]);
  assert.deepEqual(tok.encode("hé€😀"), [104, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
  assert.deepEqual(tok.encode("a<|eos|>b<|bos|>"), [97, 256, 98, 258]);
  assert.deepEqual(tok.encode("a", { addSpecialTokens: true }), [258, 97]);
  assert.equal(tok.decode([104, 0xc3, 0xa9, 256]), "hé<|eos|>");
  assert.equal(tok.decode([104, 256, 105], { skipSpecialTokens: true }), "hi");
  assert.equal(tok.decode([0xc3]), "\ufffd");
  assert.throws(() => tok.decode([259]), /id 259 at position 0 is not in \[0, 259\)/);
  assert.equal(tok.tokenToId("<|pad|>"), 257);
  assert.equal(tok.tokenToId("A"), 65);
  const custom = new ByteTokenizer({ specialTokens: ["</s>", "<s>"], eosToken: "</s>", bosToken: "<s>" });
  assert.deepEqual([custom.vocabSize, custom.eosId, custom.bosId, custom.padId], [258, 256, 257, undefined]);
  assert.throws(
    () => new ByteTokenizer({ specialTokens: ["</s>"], eosToken: "<eos>" }),
    /eos token "<eos>" is not among/,
  );
});

test("ByteTokenizer: any text round-trips (property); the config round-trips", () => {
  const tok = new ByteTokenizer();
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (s) => {
      assert.equal(tok.decode(tok.encode(s)), s);
    }),
    { seed: 3, numRuns: 200 },
  );
  const withTemplate = new ByteTokenizer({
    specialTokens: ["<eos>", "<pad>"],
    eosToken: "<eos>",
    padToken: "<pad>",
    bosToken: null,
    chatTemplate: "{{ x }}",
  });
  const back = byteTokenizerFromConfig(JSON.parse(JSON.stringify(withTemplate.toConfig())));
  assert.deepEqual([back.vocabSize, back.eosId, back.padId, back.bosId, back.chatTemplate], [
    258,
    256,
    257,
    undefined,
    "{{ x }}",
  ]);
  assert.throws(
    () => byteTokenizerFromConfig({ tokenizer_class: "AlphaSpinByteTokenizer", special_tokens: "x" }),
    /special_tokens must be a list/,
  );
});

test("byte-level prompts are always an exact prefix; tokenizePair adds BOS/EOS once", () => {
  const tok = new ByteTokenizer();
  const check = checkPromptPrefix(tok, "Q: 2+2=", " 4");
  assert.equal(check.ok, true);
  assert.equal(check.mismatchAt, -1);
  const pair = tokenizePair(tok, "Q", " 4", { addBos: true, addEos: true });
  assert.deepEqual(pair.promptIds, [258, 81]);
  assert.deepEqual(pair.completionIds, [32, 52, 256]);
  assert.equal(pair.prefixOk && pair.jointMatches, true);
  assert.deepEqual(tokenizePair(tok, "<|bos|>Q", " 4<|eos|>", { addBos: true, addEos: true }).completionIds, [
    32,
    52,
    256,
  ]);
  const noEos = new ByteTokenizer({ specialTokens: ["<pad>"], padToken: "<pad>" });
  assert.throws(() => tokenizePair(noEos, "a", "b", { addEos: true }), /no EOS token/);
});

// ---- Hugging Face tokenizer.json ------------------------------------------------------------------

test("hand-written byte-level BPE: merges, special tokens, lossless decode", () => {
  const tok = new HfTokenizer(bpeJson(), {
    eos_token: "<|endoftext|>",
    bos_token: { content: "<|endoftext|>", __type: "AddedToken" },
  });
  assert.equal(tok.vocabSize, 266);
  assert.deepEqual(tok.encode("hello world"), [HELLO, G_WORLD]);
  assert.deepEqual(tok.encode("world"), [W, OR, LD]);
  assert.deepEqual(tok.encode("hello<|endoftext|>"), [HELLO, EOT]);
  assert.deepEqual([tok.eosId, tok.bosId, tok.padId], [EOT, EOT, undefined]);
  assert.equal(tok.decode([HELLO, G_WORLD, EOT]), "hello world<|endoftext|>");
  assert.equal(tok.decode([HELLO, G_WORLD, EOT], { skipSpecialTokens: true }), "hello world");
  assert.equal(tok.tokenToId("Ġworld"), G_WORLD);
  assert.equal(tok.idToToken(HELLO), "hello");
  assert.throws(() => tok.decode([266]), /id 266 at position 0/);
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (s) => {
      if (s.includes("<|endoftext|>")) return;
      assert.equal(tok.decode(tok.encode(s)), s);
    }),
    { seed: 9, numRuns: 150 },
  );
});

test("prompt-prefix check: a space at the end of the prompt merges with the completion", () => {
  const tok = new HfTokenizer(bpeJson(), { eos_token: "<|endoftext|>" });
  const bad = checkPromptPrefix(tok, "hello ", "world");
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.promptIds, [HELLO, SPACE]);
  assert.deepEqual(bad.jointIds, [HELLO, G_WORLD]);
  assert.equal(bad.mismatchAt, 1);
  assert.match(bad.warning!, /differ at token 1 of 2/);
  assert.match(bad.warning!, /"Ġworld"|" world"/);
  const pair = tokenizePair(tok, "hello ", "world", { addEos: true });
  assert.deepEqual(pair.promptIds, [HELLO, SPACE]);
  assert.deepEqual(pair.completionIds, [W, OR, LD, EOT]);
  assert.equal(pair.prefixOk, false);
  assert.equal(pair.jointMatches, false);
  assert.equal(typeof pair.warning, "string");
  const good = tokenizePair(tok, "hello", " world");
  assert.deepEqual([good.promptIds, good.completionIds, good.prefixOk, good.jointMatches], [
    [HELLO],
    [G_WORLD],
    true,
    true,
  ]);
  assert.equal(good.warning, undefined);
  assert.throws(() => tokenizePair(tok, "a", "b", { addBos: true }), /no BOS token/);
});

test("WordLevel tokenizer.json: the model's unk token is used; without one, a clear error", () => {
  const tok = new HfTokenizer(wordLevelJson(true), { eos_token: "</s>" });
  assert.deepEqual(tok.encode("the cat sat on</s>"), [1, 2, 3, 0, 4]);
  assert.equal(tok.unkId, 0);
  const strict = new HfTokenizer(wordLevelJson(false), {});
  assert.throws(() => strict.encode("the dog"), /piece "dog" of "the dog" has no id/);
});

test("loading folders: tokenizer.json + config (chat template list), chat_template.jinja, byte-level, errors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-"));
  try {
    const hf = join(dir, "hf");
    mkdirSync(hf);
    writeFileSync(join(hf, "tokenizer.json"), JSON.stringify(bpeJson()));
    writeFileSync(
      join(hf, "tokenizer_config.json"),
      JSON.stringify({
        eos_token: "<|endoftext|>",
        pad_token: { content: "<|endoftext|>", lstrip: false },
        chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }],
      }),
    );
    const loaded = await loadTokenizer(hf);
    assert.ok(loaded instanceof HfTokenizer);
    assert.deepEqual([loaded.eosId, loaded.padId, loaded.chatTemplate], [EOT, EOT, "D"]);
    const jinja = join(dir, "jinja");
    mkdirSync(jinja);
    writeFileSync(join(jinja, "tokenizer.json"), JSON.stringify(bpeJson()));
    writeFileSync(join(jinja, "chat_template.jinja"), "{{ messages[0].content }}");
    assert.equal((await loadHfTokenizer(jinja)).chatTemplate, "{{ messages[0].content }}");
    const bytes = join(dir, "bytes");
    mkdirSync(bytes);
    writeFileSync(join(bytes, "tokenizer_config.json"), JSON.stringify(new ByteTokenizer().toConfig()));
    const byteTok = await loadTokenizer(bytes);
    assert.ok(byteTok instanceof ByteTokenizer);
    assert.equal(byteTok.vocabSize, 259);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    await assert.rejects(loadTokenizer(empty), /has no tokenizer: expected tokenizer\.json/);
    await assert.rejects(loadTokenizer(join(dir, "nope")), /does not exist/);
    writeFileSync(join(empty, "tokenizer.json"), "{oops");
    await assert.rejects(loadTokenizer(empty), /tokenizer\.json is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- chat templates -------------------------------------------------------------------------------

const zephyr =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n" +
  "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

const chatml =
  "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

test("zephyr-like template: block tags trimmed as in transformers (trim_blocks), eos after each turn", () => {
  const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, {
    role: "assistant",
    content: "Hello.",
  }];
  assert.equal(
    renderChatTemplate(zephyr, messages, { eosToken: "</s>" }),
    "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n",
  );
  assert.equal(
    renderChatTemplate(zephyr, messages.slice(0, 2), { eosToken: "</s>", addGenerationPrompt: true }),
    "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n",
  );
});

test("chatml template: generation prompt, bos token, and the tokenizer's own template and tokens", () => {
  const messages = [{ role: "user", content: "2+2?" }];
  assert.equal(renderChatTemplate(chatml, messages), "<|im_start|>user\n2+2?<|im_end|>\n");
  assert.equal(
    renderChatTemplate(chatml, messages, { addGenerationPrompt: true, bosToken: "<s>" }),
    "<s><|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
  );
  const tok = new HfTokenizer(bpeJson(), { bos_token: "<|endoftext|>", chat_template: chatml });
  assert.equal(
    applyChatTemplate(tok, messages, { addGenerationPrompt: false }),
    "<|endoftext|><|im_start|>user\n2+2?<|im_end|>\n",
  );
  assert.throws(() => applyChatTemplate(new ByteTokenizer(), messages), /has no chat template/);
  const guarded =
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok";
  assert.throws(
    () => renderChatTemplate(guarded, [{ role: "system", content: "x" }]),
    (e: unknown) => e instanceof ChatTemplateError && /System role not supported/.test(e.message),
  );
  assert.equal(renderChatTemplate(guarded, messages), "ok");
  assert.throws(() => renderChatTemplate("{% for %}", messages), /does not parse/);
});
