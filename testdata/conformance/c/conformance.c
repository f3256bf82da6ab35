/*
 * The conformance guest of the C PDK: the raw exports of pdk/ABI.md
 * ("Conformance"), checked by testdata/conformance/cases.json on both
 * engines. Inputs and outputs are raw bytes, not the JSON envelopes.
 */
#define SPLICE_IMPLEMENTATION
#include "splice.h"

static const char manifest[] =
	"{\"appKey\":\"conformance\",\"name\":\"Conformance\",\"version\":\"1.0.0\","
	"\"auth\":{\"type\":\"none\"},\"hosts\":[],\"triggers\":[],\"actions\":[],"
	"\"transforms\":[]}";

static int32_t out_of_memory(void)
{
	return splice_error("conformance: out of memory");
}

SPLICE_EXPORT("describe") int32_t describe(void)
{
	splice_output(manifest, sizeof manifest - 1);
	return 0;
}

/* noop returns 0 and sets no output. */
SPLICE_EXPORT("noop") int32_t noop(void)
{
	return 0;
}

/* echo outputs the input unchanged; the arena grows to any input size. */
SPLICE_EXPORT("echo") int32_t echo(void)
{
	uint32_t n;
	splice_reset();
	uint8_t *in = splice_input_alloc(&n);
	if (in == NULL)
		return out_of_memory();
	splice_output(in, n);
	return 0;
}

/* upper outputs the input with ASCII a-z turned to A-Z. */
SPLICE_EXPORT("upper") int32_t upper(void)
{
	uint32_t n;
	splice_reset();
	uint8_t *in = splice_input_alloc(&n);
	if (in == NULL)
		return out_of_memory();
	for (uint32_t i = 0; i < n; i++)
		if ((uint8_t)(in[i] - 'a') < 26)
			in[i] -= 'a' - 'A';
	splice_output(in, n);
	return 0;
}

SPLICE_EXPORT("fail") int32_t fail(void)
{
	splice_error("conformance: failed on purpose");
	return 1;
}

/* config outputs config "greeting", or null when unset. */
SPLICE_EXPORT("config") int32_t config(void)
{
	char small[256];
	splice_reset();
	int32_t n = splice_config("greeting", small, sizeof small);
	if (n < 0) {
		splice_output_str("null");
		return 0;
	}
	if ((uint32_t)n <= sizeof small) {
		splice_output(small, (uint32_t)n);
		return 0;
	}
	char *big = splice_alloc((uint32_t)n);
	if (big == NULL)
		return out_of_memory();
	n = splice_config("greeting", big, (uint32_t)n);
	splice_output(big, (uint32_t)n);
	return 0;
}

SPLICE_EXPORT("log") int32_t log_(void)
{
	splice_log_info("conformance log line");
	splice_output_str("{}");
	return 0;
}

/* vars counts its calls in var "count" (a decimal string). */
SPLICE_EXPORT("vars") int32_t vars(void)
{
	char buf[24];
	uint64_t count = 0;
	int32_t n = splice_var_get("count", buf, sizeof buf);
	for (int32_t i = 0; i < n && i < (int32_t)sizeof buf; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			break;
		count = count * 10 + (uint64_t)(buf[i] - '0');
	}
	count++;

	char digits[20];
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + count % 10);
		count /= 10;
	} while (count);
	char num[20];
	for (int i = 0; i < nd; i++)
		num[i] = digits[nd - 1 - i];
	splice_var_set("count", num, (uint32_t)nd);

	char out[32] = "{\"count\":";
	uint32_t o = 9;
	for (int i = 0; i < nd; i++)
		out[o++] = num[i];
	out[o++] = '}';
	splice_output(out, o);
	return 0;
}
