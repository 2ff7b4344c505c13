// Calls the transpiled component (argv[2]: the jco output dir) and prints JSON results.
const dir = process.argv[2];
const { tokenizer, control, metrics } = await import(`${dir}/fast_litellm.js`);
const request = JSON.stringify([0, 3, 1, 0, [{ role: "user", content: "Hello, how are you today?" }], null, null]);
const series = metrics.registerSeries("node", "smoke", "accelerated");
console.log(JSON.stringify({
  version: tokenizer.componentVersion(),
  countText: tokenizer.countText("cl100k-base", "hello world"),
  countRequest: tokenizer.countRequest(request),
  encode: Array.from(tokenizer.encode("o200k-base", "hello world")),
  decode: tokenizer.decode("cl100k-base", Uint32Array.from([15339, 1917])),
  bucket: control.bucket("req-42"),
  series,
}, (_k, v) => (typeof v === "bigint" ? Number(v) : v)));
