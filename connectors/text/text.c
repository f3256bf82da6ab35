/*
 * text — a Splice connector with two pure transforms, written in C against
 * pdk/c/splice.h.
 *
 *   transform {"key":"upper"|"lower","input":<any JSON>}
 *     -> {"output":<the same JSON, ASCII letters in string values upper- or
 *        lower-cased; object keys, numbers and literals unchanged>}
 *
 * Raw exports for benchmarks: noop (returns 0, touches nothing) and echo_raw
 * (output = input, bytes, no envelope).
 */
#define SPLICE_IMPLEMENTATION
#include "splice.h"

static const char manifest[] =
	"{\"appKey\":\"text\",\"name\":\"Text\",\"version\":\"1.0.0\","
	"\"description\":\"Pure text transforms over JSON documents.\","
	"\"auth\":{\"type\":\"none\"},\"hosts\":[],\"triggers\":[],\"actions\":[],"
	"\"transforms\":["
	"{\"key\":\"upper\",\"name\":\"Upper case\","
	"\"description\":\"Upper-cases the ASCII letters of every string value in a JSON document; object keys are kept.\","
	"\"inputSchema\":{\"description\":\"Any JSON value.\"},"
	"\"outputSchema\":{\"description\":\"The input with ASCII letters in string values upper-cased.\"}},"
	"{\"key\":\"lower\",\"name\":\"Lower case\","
	"\"description\":\"Lower-cases the ASCII letters of every string value in a JSON document; object keys are kept.\","
	"\"inputSchema\":{\"description\":\"Any JSON value.\"},"
	"\"outputSchema\":{\"description\":\"The input with ASCII letters in string values lower-cased.\"}}"
	"]}";

SPLICE_EXPORT("describe") int32_t describe(void)
{
	splice_output(manifest, sizeof manifest - 1);
	return 0;
}

/* Case of one byte: upper when up, else lower; non-letters unchanged. */
static inline uint8_t recase(uint8_t c, int up)
{
	if (up)
		return (uint8_t)(c - 'a') < 26 ? c - ('a' - 'A') : c;
	return (uint8_t)(c - 'A') < 26 ? c + ('a' - 'A') : c;
}

/*
 * recase_json copies the JSON text in[0..n) to out, re-casing the ASCII
 * letters of string values, in one pass. A string is a key when the next
 * non-blank byte after it is ':'; that is only known at its end, so a key is
 * re-cased like any string and then copied back verbatim (keys are short).
 * Escapes are kept as written, except a \u escape of an ASCII letter, which
 * is written as the re-cased letter itself. Returns the output length (<= n).
 */
static uint32_t recase_json(const uint8_t *in, uint32_t n, uint8_t *out, int up)
{
	uint32_t i = 0, o = 0;
	while (i < n) {
		uint8_t c = in[i];
		if (c != '"') {
			out[o++] = c;
			i++;
			continue;
		}
		uint32_t si = i, so = o;
		out[o++] = c;
		i++;
		while (i < n) {
			c = in[i];
			if (c == '"') {
				out[o++] = c;
				i++;
				break;
			}
			if (c != '\\') {
				out[o++] = recase(c, up);
				i++;
				continue;
			}
			if (i + 5 < n && in[i + 1] == 'u' && in[i + 2] == '0' && in[i + 3] == '0') {
				int hi = splice__hex(in[i + 4]), lo = splice__hex(in[i + 5]);
				uint8_t v = (uint8_t)(hi << 4 | lo);
				if (hi >= 0 && lo >= 0 && ((uint8_t)(v - 'a') < 26 || (uint8_t)(v - 'A') < 26)) {
					out[o++] = recase(v, up);
					i += 6;
					continue;
				}
			}
			/* Any other escape is copied verbatim: two bytes, or six
			 * for \uXXXX (its hex digits keep their case). */
			uint32_t e = i + (i + 1 < n && in[i + 1] == 'u' ? 6 : 2);
			if (e > n)
				e = n;
			while (i < e)
				out[o++] = in[i++];
		}
		uint32_t j = i;
		while (j < n && splice__json_ws(in[j]))
			j++;
		if (j < n && in[j] == ':') {
			uint32_t kn = i - si;
			splice_copy(out + so, in + si, kn);
			o = so + kn;
		}
	}
	return o;
}

SPLICE_EXPORT("transform") int32_t transform(void)
{
	static const char unknown[] = "text: unknown transform ";
	static const char head[] = "{\"output\":";
	uint32_t n;
	splice_reset();
	const uint8_t *doc = splice_input_alloc(&n);
	if (doc == NULL)
		return splice_error("text: out of memory");

	char key[64];
	int32_t kn = splice_json_get_string(doc, n, "key", key, sizeof key);
	if (kn < 0)
		return splice_error("text: missing key");
	int up;
	if (kn == 5 && __builtin_memcmp(key, "upper", 5) == 0)
		up = 1;
	else if (kn == 5 && __builtin_memcmp(key, "lower", 5) == 0)
		up = 0;
	else {
		uint32_t shown = (uint32_t)kn < sizeof key ? (uint32_t)kn : sizeof key;
		char msg[sizeof unknown - 1 + sizeof key];
		splice_copy(msg, unknown, sizeof unknown - 1);
		splice_copy(msg + sizeof unknown - 1, key, shown);
		return splice_error_n(msg, sizeof unknown - 1 + shown);
	}

	const uint8_t *in;
	uint32_t in_n;
	if (!splice_json_field(doc, n, "input", &in, &in_n) || in_n == 0)
		return splice_error("text: missing input");

	uint8_t *out = splice_alloc(sizeof head - 1 + in_n + 1);
	if (out == NULL)
		return splice_error("text: out of memory");
	splice_copy(out, head, sizeof head - 1);
	uint32_t o = sizeof head - 1;
	o += recase_json(in, in_n, out + o, up);
	out[o++] = '}';
	splice_output(out, o);
	return 0;
}

/* noop returns 0, sets no output and touches nothing: the call overhead. */
SPLICE_EXPORT("noop") int32_t noop(void)
{
	return 0;
}

/* echo_raw outputs the input bytes unchanged: the cost of moving bytes. */
SPLICE_EXPORT("echo_raw") int32_t echo_raw(void)
{
	uint32_t n;
	splice_reset();
	uint8_t *in = splice_input_alloc(&n);
	if (in == NULL)
		return splice_error("text: out of memory");
	splice_output(in, n);
	return 0;
}
