/*
 * chat-c — a C port of the Splice connector "chat" (connectors/chat, Go),
 * written against pdk/c/splice.h: the same app (chat@1.0.0), the same
 * manifest, the same behaviour, outputs and error texts, at a fraction of the
 * cost per call. connectors/chat/README.md is the specification; README.md
 * beside this file lists what differs (error texts for documents the host
 * never sends).
 *
 *   transform {"key":"format-order","input":{"order":{...},"channel":"#x"}}
 *     -> {"output":{"channel":"#orders","text":"New order <id> by <name>, total <total>"}}
 *   action {"key":"send-message","params":{"channel","text","threadId"},"idempotencyKey"}
 *     -> POST {{credential.baseUrl}}/api/chat.postMessage through splice_http
 *     -> {"output":{"ok":true,"status":200,"messageId":"..."}}
 *   auth {"op":"test"} -> {"ok":true,"set":{}} (the Go PDK's default)
 *
 * Where the Go connector leans on encoding/json, this port does what
 * encoding/json does: object keys are compared after decoding their escapes,
 * the last of duplicate keys wins, struct fields (send-message's params, the
 * chat API's reply) match keys case-insensitively, strings decode with
 * invalid UTF-8 and lone surrogates turned into U+FFFD, and strings are
 * written with Go's escapes.
 */
#define SPLICE_IMPLEMENTATION
#include "splice.h"

/* The manifest, byte for byte what the Go connector's describe outputs. */
static const char manifest[] =
	"{\"appKey\":\"chat\",\"name\":\"Chat\",\"version\":\"1.0.0\",\"description\":\"Posts messages to a Slack-like chat "
	"API (POST <baseUrl>/api/chat.postMessage with a bearer token), and formats orders as chat messages.\","
	"\"auth\":{\"type\":\"apiKey\",\"in\":\"header\",\"name\":\"Authorization\",\"format\":\"Bearer {{credential.token}}\","
	"\"fields\":[{\"key\":\"token\",\"label\":\"API token\",\"description\":\"The chat API's bearer token. The host sends "
	"it as \\\"Authorization: Bearer <token>\\\"; the connector never sees it.\","
	"\"secret\":true},{\"key\":\"baseUrl\",\"label\":\"Base URL\",\"description\":\"The chat API's base URL,"
	" without a trailing slash, e.g. https://chat.example.com (http://127.0.0.1:PORT in development). Its "
	"host must be one of the connector's hosts.\"}]},\"hosts\":[\"127.0.0.1\",\"localhost\","
	"\"chat.example.com\"],\"triggers\":[],\"actions\":[{\"key\":\"send-message\",\"name\":\"Send message\","
	"\"description\":\"Posts a message to a channel, or as a reply in a thread,"
	" with the step's idempotencyKey as the Idempotency-Key header.\",\"inputSchema\":{\"type\":\"object\","
	"\"required\":[\"channel\",\"text\"],\"additionalProperties\":false,\"properties\":{\"channel\":{\"type\":\"string\","
	"\"minLength\":1,\"maxLength\":80,\"description\":\"The channel to post to, e.g. \\\"#orders\\\".\"},"
	"\"text\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4000,\"description\":\"The message text.\"},"
	"\"threadId\":{\"type\":\"string\",\"description\":\"The id of the thread's first message,"
	" to reply in that thread; empty or absent posts a new message.\"}}},\"outputSchema\":{\"type\":\"object\","
	"\"required\":[\"ok\",\"status\",\"messageId\"],\"additionalProperties\":false,\"properties\":{\"ok\":{\"const\":true},"
	"\"status\":{\"type\":\"integer\",\"minimum\":200,\"maximum\":299,\"description\":\"The chat API's HTTP status.\"},"
	"\"messageId\":{\"type\":[\"string\",\"null\"],\"description\":\"The id (or else ts) member of the chat API's JSON "
	"reply; null when it has neither.\"}}}}],\"transforms\":[{\"key\":\"format-order\","
	"\"name\":\"Format order\",\"description\":\"Turns an order (under \\\"order\\\", or the input itself) into a chat "
	"message: {\\\"channel\\\": \\\"#orders\\\", \\\"text\\\": \\\"New order <id> by <customer.name>,"
	" total <total>\\\"}.\",\"inputSchema\":{\"type\":\"object\",\"description\":\"An order,"
	" under \\\"order\\\" or as the input itself, and an optional channel.\",\"properties\":{\"channel\":{\"type\":\"string\","
	"\"minLength\":1,\"maxLength\":80,\"description\":\"The channel of the message; \\\"#orders\\\" when absent.\"}},"
	"\"anyOf\":[{\"required\":[\"order\"],\"properties\":{\"order\":{\"$ref\":\"#/$defs/order\"}}},"
	"{\"$ref\":\"#/$defs/order\"}],\"$defs\":{\"order\":{\"type\":\"object\",\"required\":[\"id\"],"
	"\"properties\":{\"id\":{\"type\":[\"string\",\"number\"]},\"customer\":{\"type\":[\"object\","
	"\"null\"],\"properties\":{\"name\":{\"description\":\"Shown as text; a string, or any value as its JSON.\"}}},"
	"\"total\":{\"type\":[\"number\",\"string\",\"null\"],\"description\":\"Shown as written: 12.50 stays 12.50.\"},"
	"\"lines\":{\"type\":[\"array\",\"null\"]}}}}},\"outputSchema\":{\"type\":\"object\","
	"\"required\":[\"channel\",\"text\"],\"properties\":{\"channel\":{\"type\":\"string\","
	"\"minLength\":1,\"maxLength\":80},\"text\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4000}}}}],"
	"\"limits\":{\"httpCalls\":1,\"httpResponseBytes\":65536}}";

SPLICE_EXPORT("describe") int32_t describe(void)
{
	splice_output(manifest, sizeof manifest - 1);
	return 0;
}

/* Limits, as in the Go connector and the manifest's schemas. */
#define MAX_CHANNEL_RUNES 80
#define MAX_TEXT_RUNES 4000
#define MAX_REPLY_BYTES (64 << 10) /* a larger 2xx body is not parsed */
#define SNIPPET_BYTES 256          /* of a reply body, in an error message */

/* A span of bytes: a raw JSON value, or text. p == NULL is "absent". */
typedef struct {
	const uint8_t *p;
	uint32_t n;
} span;

static int is(span s, const char *lit)
{
	uint32_t m = splice_strlen(lit);
	return s.p != NULL && s.n == m && __builtin_memcmp(s.p, lit, m) == 0;
}

static int is_null(span v)
{
	return v.p != NULL && splice_json_is_null(v.p, v.n);
}

/* member finds a member of the object obj as a Go map would (keys decoded,
 * the last duplicate wins); absent when obj has none. */
static span member(span obj, const char *key)
{
	span v = {NULL, 0};
	if (obj.p != NULL && !splice_json_member(obj.p, obj.n, key, &v.p, &v.n))
		v.p = NULL;
	return v;
}

/* members looks up count (at most 4) keys of obj in one pass, each as member
 * does; absent ones have a NULL p. */
static void members(span obj, const char *const *keys, uint32_t count, span *out)
{
	const uint8_t *vals[4];
	uint32_t lens[4];
	int ok = count <= 4 && obj.p != NULL && splice_json_members(obj.p, obj.n, keys, count, vals, lens);
	for (uint32_t i = 0; i < count; i++) {
		out[i].p = ok ? vals[i] : NULL;
		out[i].n = ok ? lens[i] : 0;
	}
}

/* decode decodes a string token into the arena; absent when out of memory. */
static span decode(span tok)
{
	span s = {NULL, 0};
	s.p = splice_json_unquote_alloc(tok.p, tok.n, &s.n);
	return s;
}

/* kind_of names the JSON type of a raw value as encoding/json's errors do. */
static const char *kind_of(span v)
{
	switch (v.p[0]) {
	case '"': return "string";
	case '{': return "object";
	case '[': return "array";
	case 't': case 'f': return "bool";
	case 'n': return "null";
	}
	return "number";
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* fail sets the error b holds and returns 1. */
static int32_t fail(splice_buf *b)
{
	if (b->oom)
		return splice_error("chat: out of memory");
	return splice_error_n(b->p, b->n);
}

static int32_t fail2(const char *a, const char *b)
{
	splice_buf e;
	splice_buf_init(&e, 256);
	splice_buf_str(&e, a);
	splice_buf_str(&e, b);
	return fail(&e);
}

static int32_t out_of_memory(void)
{
	return splice_error("chat: out of memory");
}

/* go_printable approximates Go's strconv.IsPrint for a valid non-ASCII
 * character: letters, marks, numbers, punctuation and symbols are; C1
 * controls, format characters, separators other than the ASCII space,
 * private use and non-characters are not. */
static int go_printable(uint32_t r)
{
	if (r < 0xA1 || r == 0xAD || r == 0x1680 || r == 0x180E || (r >= 0x2000 && r <= 0x200F) ||
	    (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF ||
	    (r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFFF9 && r <= 0xFFFB) || (r & 0xFFFE) == 0xFFFE ||
	    (r >= 0xFDD0 && r <= 0xFDEF) || r >= 0xF0000)
		return 0;
	return 1;
}

/* buf_goquote writes s quoted as Go's %q (strconv.Quote) does. */
static void buf_goquote(splice_buf *b, const uint8_t *s, uint32_t n)
{
	static const char hex[] = "0123456789abcdef";
	splice_buf_byte(b, '"');
	for (uint32_t i = 0; i < n;) {
		uint32_t r, k = s[i] < 0x80 ? (r = s[i], 1) : splice_utf8_decode(s + i, n - i, &r);
		if (k == 1 && s[i] >= 0x80) {
			uint8_t e[4] = {'\\', 'x', (uint8_t)hex[s[i] >> 4], (uint8_t)hex[s[i] & 15]};
			splice_buf_write(b, e, 4);
		} else if (r == '"' || r == '\\') {
			splice_buf_byte(b, '\\');
			splice_buf_byte(b, (uint8_t)r);
		} else if (r >= 0x20 && r < 0x7F) {
			splice_buf_byte(b, (uint8_t)r);
		} else if (r >= 0x80 && go_printable(r)) {
			splice_buf_write(b, s + i, k);
		} else {
			static const char short_esc[] = "abtnvfr"; /* \a (7) ... \r (13) */
			if (r >= 7 && r <= 13) {
				splice_buf_byte(b, '\\');
				splice_buf_byte(b, (uint8_t)short_esc[r - 7]);
			} else if (r < 0x80) {
				uint8_t e[4] = {'\\', 'x', (uint8_t)hex[r >> 4], (uint8_t)hex[r & 15]};
				splice_buf_write(b, e, 4);
			} else {
				int digits = r < 0x10000 ? 4 : 8;
				splice_buf_byte(b, '\\');
				splice_buf_byte(b, digits == 4 ? 'u' : 'U');
				for (int d = digits - 1; d >= 0; d--)
					splice_buf_byte(b, (uint8_t)hex[r >> (4 * d) & 15]);
			}
		}
		i += k;
	}
	splice_buf_byte(b, '"');
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */

/* buf_text appends a value as message text (Go: textOf): a string decoded, a
 * number as written, any other value as compact JSON. Returns 0, appending
 * nothing, for an absent or null value. */
static int buf_text(splice_buf *b, span v)
{
	if (v.p == NULL || is_null(v))
		return 0;
	if (v.p[0] == '"') {
		uint64_t max = SPLICE_JSON_UNQUOTED_MAX(v.n);
		if (max > 0xFFFFFFF0u || !splice_buf_reserve(b, (uint32_t)max)) {
			b->oom = 1;
			return 1;
		}
		int32_t k = splice_json_unquote(v.p, v.n, b->p + b->n, (uint32_t)max);
		if (k > 0)
			b->n += (uint32_t)k;
		return 1;
	}
	if (splice_buf_reserve(b, v.n))
		b->n += splice_json_compact(b->p + b->n, v.p, v.n);
	return 1;
}

/* go_space is Go's unicode.IsSpace. */
static int go_space(uint32_t r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
	case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
		return 1;
	}
	return r >= 0x2000 && r <= 0x200A;
}

/* next_rune decodes the character at s[i] (Go's range over a string). */
static uint32_t next_rune(const uint8_t *s, uint32_t n, uint32_t i, uint32_t *r)
{
	if (s[i] < 0x80) {
		*r = s[i];
		return 1;
	}
	return splice_utf8_decode(s + i, n - i, r);
}

/* last_rune decodes the character that ends s[0..n) (Go's
 * utf8.DecodeLastRune): U+FFFD with size 1 when it is not valid. */
static uint32_t last_rune(const uint8_t *s, uint32_t n, uint32_t *r)
{
	for (uint32_t k = 1; k <= 4 && k <= n; k++) {
		if ((s[n - k] & 0xC0) == 0x80)
			continue;
		if (next_rune(s, n, n - k, r) == k)
			return k;
		break;
	}
	*r = 0xFFFD;
	return 1;
}

/* trim_space is Go's bytes.TrimSpace: Unicode white space off both ends. */
static span trim_space(span s)
{
	uint32_t r, k;
	while (s.n > 0 && (k = next_rune(s.p, s.n, 0, &r), go_space(r) && !(k == 1 && s.p[0] >= 0x80))) {
		s.p += k;
		s.n -= k;
	}
	while (s.n > 0 && (k = last_rune(s.p, s.n, &r), go_space(r) && !(k == 1 && s.p[s.n - 1] >= 0x80)))
		s.n -= k;
	return s;
}

/* cut returns text when it has at most max characters, else its first max-1
 * characters and "…" (in the arena). Like Go's range over a string, the cut
 * text has each byte of invalid UTF-8 as U+FFFD. */
static span cut(span text, uint32_t max)
{
	if (splice_utf8_count(text.p, text.n) <= max)
		return text;
	uint8_t *out = (uint8_t *)splice_alloc(4 * max + 3);
	span s = {out, 0};
	if (out == NULL)
		return s;
	uint32_t i = 0;
	for (uint32_t runes = 0; runes < max - 1; runes++) {
		uint32_t r, k = next_rune(text.p, text.n, i, &r);
		s.n += k == 1 && text.p[i] >= 0x80 ? splice_utf8_encode(out + s.n, 0xFFFD) : (splice_copy(out + s.n, text.p + i, k), k);
		i += k;
	}
	splice_copy(out + s.n, "\xE2\x80\xA6", 3); /* … */
	s.n += 3;
	return s;
}

/* ------------------------------------------------------------------------ */
/* The envelopes of the Go PDK                                               */

/* parse_string_member reads a member that must be a string or null (null is
 * ""); 0 when it is neither. */
static int parse_string_member(span v, span *out)
{
	if (is_null(v)) {
		out->p = (const uint8_t *)"";
		out->n = 0;
		return 1;
	}
	if (v.p[0] != '"')
		return 0;
	*out = decode(v);
	return 1;
}

typedef struct {
	span key, idempotency_key, value; /* value: params or input; absent for null */
} envelope;

/* read_envelope reads the input of the action or transform export as the Go
 * PDK does; returns 0 after setting the error. */
static int read_envelope(const char *export, envelope *env, int32_t *rc)
{
	uint32_t n;
	const uint8_t *doc = splice_input_alloc(&n);
	if (doc == NULL) {
		*rc = out_of_memory();
		return 0;
	}
	int action = export[0] == 'a';
	splice_json_iter it;
	if (!splice_json_check(doc, n, SPLICE_JSON_LAX_UTF8)) {
		*rc = fail2(action ? "pdk: action: decode input: " : "pdk: transform: decode input: ", "invalid JSON");
		return 0;
	}
	if (!splice_json_iter_start(&it, doc, n, '{')) {
		*rc = fail2(action ? "pdk: action: decode input: " : "pdk: transform: decode input: ", "not a JSON object");
		return 0;
	}
	span k, v, empty = {(const uint8_t *)"", 0}, absent = {NULL, 0};
	env->key = env->idempotency_key = empty;
	env->value = absent;
	while (splice_json_iter_member(&it, &k.p, &k.n, &v.p, &v.n)) {
		if (splice_json_key_equal(k.p, k.n, "key")) {
			if (!parse_string_member(v, &env->key)) {
				*rc = fail2(action ? "pdk: action: decode input: " : "pdk: transform: decode input: ",
					    "key must be a string");
				return 0;
			}
		} else if (action && splice_json_key_equal(k.p, k.n, "idempotencyKey")) {
			if (!parse_string_member(v, &env->idempotency_key)) {
				*rc = splice_error("pdk: action: decode input: idempotencyKey must be a string");
				return 0;
			}
		} else if (splice_json_key_equal(k.p, k.n, action ? "params" : "input")) {
			env->value = is_null(v) ? absent : v;
		}
		if (env->key.p == NULL || env->idempotency_key.p == NULL) {
			*rc = out_of_memory();
			return 0;
		}
	}
	return 1;
}

/* unknown_key fails the call for a key the connector does not declare. */
static int32_t unknown_key(const char *export, span key)
{
	splice_buf e;
	splice_buf_init(&e, 64 + key.n);
	splice_buf_str(&e, "pdk: connector chat has no ");
	splice_buf_str(&e, export);
	splice_buf_byte(&e, ' ');
	buf_goquote(&e, key.p, key.n);
	return fail(&e);
}

/* ------------------------------------------------------------------------ */
/* transform format-order                                                    */

static int32_t format_order(span input)
{
	if (input.p == NULL)
		return splice_error("chat: format-order: input is required");
	if (input.p[0] != '{')
		return splice_error("chat: format-order: input: must be an object");
	/* One pass over the input and one over the order find every member used:
	 * each lookup skips every value of the object, the order's lines too. */
	static const char *const input_keys[] = {"order", "channel"};
	static const char *const order_keys[] = {"id", "customer", "total"};
	span top[2], of[3];
	members(input, input_keys, 2, top);
	span order = input, o = top[0];
	if (o.p != NULL && !is_null(o)) {
		if (o.p[0] != '{')
			return splice_error("chat: format-order: order: must be an object");
		order = o;
	}
	span channel = {(const uint8_t *)"#orders", 7}, c = top[1];
	if (c.p != NULL && !is_null(c)) {
		if (c.p[0] != '"')
			return splice_error("chat: format-order: channel must be a string");
		if ((channel = decode(c)).p == NULL)
			return out_of_memory();
		uint32_t runes = splice_utf8_count(channel.p, channel.n);
		if (runes < 1 || runes > MAX_CHANNEL_RUNES) {
			splice_buf e;
			splice_buf_init(&e, 96);
			splice_buf_str(&e, "chat: format-order: channel must have 1 to 80 characters, not ");
			splice_buf_int(&e, runes);
			return fail(&e);
		}
	}

	members(order, order_keys, 3, of);
	splice_buf text;
	splice_buf_init(&text, 256);
	splice_buf_str(&text, "New order ");
	if (!buf_text(&text, of[0]))
		return splice_error("chat: format-order: the order has no id (give it under \"order\", or as the input itself)");
	splice_buf_str(&text, " by ");
	span customer = of[1];
	if (customer.p != NULL && customer.p[0] == '{')
		buf_text(&text, member(customer, "name"));
	splice_buf_str(&text, ", total ");
	buf_text(&text, of[2]);
	if (text.oom)
		return out_of_memory();
	span msg = cut((span){text.p, text.n}, MAX_TEXT_RUNES);
	if (msg.p == NULL)
		return out_of_memory();

	splice_buf out;
	splice_buf_init(&out, 48 + channel.n + msg.n + msg.n / 8);
	splice_buf_str(&out, "{\"output\":{\"channel\":");
	splice_buf_json_string(&out, channel.p, channel.n, 0);
	splice_buf_str(&out, ",\"text\":");
	splice_buf_json_string(&out, msg.p, msg.n, 0);
	splice_buf_str(&out, "}}");
	if (out.oom)
		return out_of_memory();
	splice_output(out.p, out.n);
	return 0;
}

SPLICE_EXPORT("transform") int32_t transform(void)
{
	envelope env;
	int32_t rc;
	splice_reset();
	if (!read_envelope("transform", &env, &rc))
		return rc;
	if (!is(env.key, "format-order"))
		return unknown_key("transform", env.key);
	return format_order(env.value);
}

/* ------------------------------------------------------------------------ */
/* action send-message                                                       */

/* fold_equal reports whether the decoded key equals name (ASCII) the way
 * encoding/json matches a key to a struct field: ignoring case, with the
 * Kelvin sign U+212A matching k and the long s U+017F matching s. */
static int fold_equal(span key, const char *name)
{
	uint32_t i = 0;
	for (; *name; name++) {
		if (i >= key.n)
			return 0;
		uint32_t r, k = next_rune(key.p, key.n, i, &r);
		uint8_t want = splice__lower((uint8_t)*name);
		if (r < 0x80 ? splice__lower((uint8_t)r) != want
			     : !((r == 0x212A && want == 'k') || (r == 0x17F && want == 's')))
			return 0;
		i += k;
	}
	return i == key.n;
}

/* A message: format-order's output, the body send-message posts. */
typedef struct {
	span channel, text, thread_id;
} message;

/* decode_send_params reads send-message's params as encoding/json decodes
 * them into the Go connector's sendParams (unknown fields refused, the
 * first error reported), then checks them as its input schema says. */
static int32_t decode_send_params(span params, message *msg)
{
	static const char *const fields[3] = {"channel", "text", "threadId"};
	span *slots[3] = {&msg->channel, &msg->text, &msg->thread_id};
	splice_buf err;
	err.oom = 0;
	err.n = 0;
	int have_err = 0;
	msg->channel.p = msg->text.p = msg->thread_id.p = NULL;
	msg->channel.n = msg->text.n = msg->thread_id.n = 0;
	if (params.p != NULL) {
		splice_json_iter it;
		if (!splice_json_iter_start(&it, params.p, params.n, '{')) {
			splice_buf_init(&err, 128);
			splice_buf_str(&err, "chat: send-message: params: json: cannot unmarshal ");
			splice_buf_str(&err, kind_of(params));
			splice_buf_str(&err, " into Go value of type main.sendParams");
			return fail(&err);
		}
		span k, v;
		while (splice_json_iter_member(&it, &k.p, &k.n, &v.p, &v.n)) {
			span key = decode(k);
			if (key.p == NULL)
				return out_of_memory();
			int f = -1;
			for (int j = 0; j < 3 && f < 0; j++)
				if (fold_equal(key, fields[j]))
					f = j;
			if (f < 0) {
				if (!have_err) {
					have_err = 1;
					splice_buf_init(&err, 128);
					splice_buf_str(&err, "chat: send-message: params: json: unknown field ");
					buf_goquote(&err, key.p, key.n);
				}
				continue;
			}
			if (is_null(v)) {
				slots[f]->p = NULL; /* null sets a pointer to nil */
				slots[f]->n = 0;
			} else if (v.p[0] == '"') {
				if ((*slots[f] = decode(v)).p == NULL)
					return out_of_memory();
			} else if (!have_err) {
				have_err = 1;
				splice_buf_init(&err, 128);
				splice_buf_str(&err, "chat: send-message: params: json: cannot unmarshal ");
				splice_buf_str(&err, kind_of(v));
				splice_buf_str(&err, " into Go struct field sendParams.");
				splice_buf_str(&err, fields[f]);
				splice_buf_str(&err, " of type string");
			}
		}
		if (have_err)
			return fail(&err);
	}
	if (msg->channel.p == NULL)
		return splice_error("chat: send-message: channel is required");
	if (msg->text.p == NULL)
		return splice_error("chat: send-message: text is required");
	uint32_t runes = splice_utf8_count(msg->channel.p, msg->channel.n);
	if (runes < 1 || runes > MAX_CHANNEL_RUNES) {
		splice_buf_init(&err, 96);
		splice_buf_str(&err, "chat: send-message: channel must have 1 to 80 characters, not ");
		splice_buf_int(&err, runes);
		return fail(&err);
	}
	runes = splice_utf8_count(msg->text.p, msg->text.n);
	if (runes < 1 || runes > MAX_TEXT_RUNES) {
		splice_buf_init(&err, 96);
		splice_buf_str(&err, "chat: send-message: text must have 1 to 4000 characters, not ");
		splice_buf_int(&err, runes);
		return fail(&err);
	}
	if (msg->thread_id.p == NULL)
		msg->thread_id.n = 0;
	return 0;
}

/* build_request writes the splice_http request document that posts msg. The
 * body is the message as JSON with every { written \u007b, so that the host
 * never takes user text for a {{credential.x}} placeholder (see "Why user
 * text is written with { escaped" in connectors/chat/main.go). */
static int32_t build_request(const message *msg, span idempotency_key, splice_buf *doc)
{
	splice_buf body;
	splice_buf_init(&body, 48 + msg->channel.n + msg->text.n + msg->thread_id.n);
	splice_buf_str(&body, "{\"channel\":");
	splice_buf_json_string(&body, msg->channel.p, msg->channel.n, SPLICE_JSON_ESCAPE_BRACE);
	splice_buf_str(&body, ",\"text\":");
	splice_buf_json_string(&body, msg->text.p, msg->text.n, SPLICE_JSON_ESCAPE_BRACE);
	if (msg->thread_id.n > 0) {
		splice_buf_str(&body, ",\"threadId\":");
		splice_buf_json_string(&body, msg->thread_id.p, msg->thread_id.n, SPLICE_JSON_ESCAPE_BRACE);
	}
	splice_buf_byte(&body, '}');
	if (body.oom)
		return out_of_memory();
	for (uint32_t i = 0; i + 1 < idempotency_key.n; i++)
		if (idempotency_key.p[i] == '{' && idempotency_key.p[i + 1] == '{')
			return splice_error("chat: send-message: idempotencyKey must not contain \"{{\"");

	splice_buf_init(doc, 256 + idempotency_key.n + body.n + body.n / 4);
	splice_buf_str(doc, "{\"method\":\"POST\",\"url\":\"{{credential.baseUrl}}/api/chat.postMessage\","
			    "\"headers\":{\"Accept\":\"application/json\","
			    "\"Content-Type\":\"application/json; charset=utf-8\"");
	if (idempotency_key.n > 0) {
		splice_buf_str(doc, ",\"Idempotency-Key\":");
		splice_buf_json_string(doc, idempotency_key.p, idempotency_key.n, 0);
	}
	splice_buf_str(doc, "},\"body\":");
	splice_buf_json_string(doc, body.p, body.n, 0);
	splice_buf_str(doc, ",\"auth\":true}");
	if (doc->oom)
		return out_of_memory();
	return 0;
}

/* A response of splice_http. */
typedef struct {
	int32_t status;
	span body;
} response;

/* malformed fails the call for a response document the host should never
 * send (Go PDK: decodeResponse's errors). */
static int32_t malformed(const char *why)
{
	return fail2("chat: send-message: pdk: http: malformed response from the host: ", why);
}

/* decode_response reads the response document doc (Go PDK: decodeResponse):
 * a response, or the error of an exchange that got none. */
static int32_t decode_response(span doc, response *res)
{
	splice_json_iter it;
	if (!splice_json_check(doc.p, doc.n, SPLICE_JSON_LAX_UTF8))
		return malformed("invalid JSON");
	if (!splice_json_iter_start(&it, doc.p, doc.n, '{'))
		return malformed("not a JSON object");
	span e = member(doc, "error");
	if (e.p != NULL && !is_null(e)) {
		span kind = member(e, "kind"), msg = member(e, "message");
		if (e.p[0] != '{' || (kind.p != NULL && kind.p[0] != '"' && !is_null(kind)) ||
		    (msg.p != NULL && msg.p[0] != '"' && !is_null(msg)))
			return malformed("error is not an error object");
		kind = kind.p != NULL && kind.p[0] == '"' ? decode(kind) : (span){(const uint8_t *)"", 0};
		msg = msg.p != NULL && msg.p[0] == '"' ? decode(msg) : (span){(const uint8_t *)"", 0};
		if (kind.p == NULL || msg.p == NULL)
			return out_of_memory();
		if (kind.n == 0)
			return malformed("error without kind");
		splice_buf b;
		splice_buf_init(&b, 64 + kind.n + msg.n);
		splice_buf_str(&b, "chat: send-message: splice: http ");
		splice_buf_write(&b, kind.p, kind.n);
		splice_buf_str(&b, ": ");
		splice_buf_write(&b, msg.p, msg.n);
		return fail(&b);
	}
	span st = member(doc, "status");
	if (st.p == NULL || is_null(st))
		return malformed("neither status nor error");
	int64_t status = 0;
	uint32_t i = st.p[0] == '-' ? 1 : 0;
	if (i >= st.n)
		return malformed("status is not an integer");
	for (; i < st.n; i++) {
		if (st.p[i] < '0' || st.p[i] > '9')
			return malformed("status is not an integer");
		if (status < 100000)
			status = status * 10 + (st.p[i] - '0');
	}
	if (st.p[0] == '-')
		status = -status;
	if (status < 100 || status > 999) {
		splice_buf b;
		splice_buf_init(&b, 96);
		splice_buf_str(&b, "chat: send-message: pdk: http: malformed response from the host: status ");
		splice_buf_int(&b, status);
		return fail(&b);
	}
	res->status = (int32_t)status;
	span body = member(doc, "body"), b64 = member(doc, "bodyBase64");
	int has_body = body.p != NULL && !is_null(body), has_b64 = b64.p != NULL && !is_null(b64);
	res->body.p = (const uint8_t *)"";
	res->body.n = 0;
	if (has_body && has_b64)
		return malformed("both body and bodyBase64");
	if (has_body) {
		if (body.p[0] != '"')
			return malformed("body is not a string");
		if ((res->body = decode(body)).p == NULL)
			return out_of_memory();
	} else if (has_b64) {
		if (b64.p[0] != '"')
			return malformed("bodyBase64 is not a string");
		span text = decode(b64);
		if (text.p == NULL)
			return out_of_memory();
		int32_t k = splice_base64_decode((uint8_t *)text.p, text.p, text.n);
		if (k < 0)
			return malformed("bodyBase64: illegal base64 data");
		res->body.p = text.p;
		res->body.n = (uint32_t)k;
	}
	return 0;
}

/* buf_snippet appends ": " and the start of body, whitespace collapsed, for
 * an error message; nothing when body is empty or not text (Go: snippet). */
static void buf_snippet(splice_buf *b, span body)
{
	int cut = body.n > SNIPPET_BYTES;
	if (cut) {
		body.n = SNIPPET_BYTES;
		for (int i = 0; i < 4 && body.n > 0 && !splice_utf8_valid(body.p, body.n); i++)
			body.n--; /* do not cut a character in two */
	}
	if (!splice_utf8_valid(body.p, body.n))
		return;
	uint32_t start = b->n, i = 0, r, k;
	int words = 0, gap = 0;
	while (i < body.n) {
		k = next_rune(body.p, body.n, i, &r);
		if (go_space(r)) {
			gap = 1;
		} else {
			if (words == 0)
				splice_buf_str(b, ": ");
			else if (gap)
				splice_buf_byte(b, ' ');
			splice_buf_write(b, body.p + i, k);
			words = 1;
			gap = 0;
		}
		i += k;
	}
	if (b->n != start && cut)
		splice_buf_str(b, "...");
}

/* buf_id appends a non-empty string member, or a number member as written
 * (Go: idOf); returns 0, appending nothing, for anything else. */
static int buf_id(splice_buf *b, span v)
{
	if (v.p == NULL)
		return 0;
	if (v.p[0] == '"') {
		span s = decode(v);
		if (s.p == NULL || s.n == 0)
			return 0;
		splice_buf_json_string(b, s.p, s.n, 0);
		return 1;
	}
	if (v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9')) {
		splice_buf_json_string(b, v.p, v.n, 0);
		return 1;
	}
	return 0;
}

/* read_reply turns the chat API's response into send-message's output, or
 * an error whose text says what the API answered (Go: readReply). */
static int32_t read_reply(const response *res)
{
	splice_buf b;
	splice_buf_init(&b, 512);
	int32_t s = res->status;
	const char *head = NULL, *tail = "";
	if (s == 401 || s == 403) {
		head = "chat: send-message: the chat API refused the credential with status ";
		tail = " (check its token)";
	} else if (s == 429 || s >= 500) {
		head = "chat: send-message: the chat API failed with status ";
		tail = " (temporary)";
	} else if (s >= 400) {
		head = "chat: send-message: the chat API refused the message with status ";
	} else if (s < 200 || s > 299) {
		head = "chat: send-message: unexpected status ";
		tail = " from the chat API";
	}
	if (head != NULL) {
		splice_buf_str(&b, head);
		splice_buf_int(&b, s);
		splice_buf_str(&b, tail);
		buf_snippet(&b, res->body);
		return fail(&b);
	}

	/* A 2xx: posted. Read the id from a JSON object reply, if there is one:
	 * decoded as encoding/json decodes it into the Go connector's reply
	 * struct (keys matched ignoring case, the last duplicate wins, an "ok"
	 * that is not a boolean makes the reply unreadable). */
	span id = {NULL, 0}, ts = {NULL, 0}, reason = {NULL, 0};
	int ok = -1; /* -1 absent, 0 false, 1 true */
	span body = trim_space(res->body);
	int readable = body.n > 0 && body.n <= MAX_REPLY_BYTES && body.p[0] == '{' &&
		       splice_json_check(body.p, body.n, SPLICE_JSON_LAX_UTF8);
	if (readable) {
		splice_json_iter it;
		span k, v;
		splice_json_iter_start(&it, body.p, body.n, '{');
		while (readable && splice_json_iter_member(&it, &k.p, &k.n, &v.p, &v.n)) {
			span key = decode(k);
			if (key.p == NULL)
				return out_of_memory();
			if (fold_equal(key, "ok")) {
				if (is_null(v))
					ok = -1;
				else if (v.p[0] == 't' || v.p[0] == 'f')
					ok = v.p[0] == 't';
				else
					readable = 0; /* a type error: the reply is not read */
			} else if (fold_equal(key, "id")) {
				id = v;
			} else if (fold_equal(key, "ts")) {
				ts = v;
			} else if (fold_equal(key, "error")) {
				reason = v;
			}
		}
	}
	if (readable && ok == 0) {
		splice_buf_str(&b, "chat: send-message: the chat API answered status ");
		splice_buf_int(&b, s);
		splice_buf_str(&b, " with ok false: ");
		uint32_t at = b.n;
		buf_text(&b, reason);
		if (b.n == at) {
			splice_buf_str(&b, "no reason given");
		} else if (b.n - at > SNIPPET_BYTES && !b.oom) {
			uint32_t n = SNIPPET_BYTES; /* clip, on a character boundary */
			while (n > 0 && (b.p[at + n] & 0xC0) == 0x80)
				n--;
			b.n = at + n;
			splice_buf_str(&b, "...");
		}
		return fail(&b);
	}
	splice_buf_str(&b, "{\"output\":{\"ok\":true,\"status\":");
	splice_buf_int(&b, s);
	splice_buf_str(&b, ",\"messageId\":");
	if (!readable || (!buf_id(&b, id) && !buf_id(&b, ts)))
		splice_buf_str(&b, "null");
	splice_buf_str(&b, "}}");
	if (b.oom)
		return out_of_memory();
	splice_output(b.p, b.n);
	return 0;
}

static int32_t send_message(span params, span idempotency_key)
{
	message msg;
	int32_t rc = decode_send_params(params, &msg);
	if (rc != 0)
		return rc;
	splice_buf doc;
	if ((rc = build_request(&msg, idempotency_key, &doc)) != 0)
		return rc;
	uint8_t *res_doc;
	uint32_t res_n;
	switch (splice_http(doc.p, doc.n, &res_doc, &res_n)) {
	case SPLICE_HTTP_OK:
		break;
	case SPLICE_HTTP_UNAVAILABLE:
		return splice_error("chat: send-message: splice: http unavailable: the host has no HTTP broker for this call");
	default:
		return out_of_memory();
	}
	response res;
	if ((rc = decode_response((span){res_doc, res_n}, &res)) != 0)
		return rc;
	return read_reply(&res);
}

SPLICE_EXPORT("action") int32_t action(void)
{
	envelope env;
	int32_t rc;
	splice_reset();
	if (!read_envelope("action", &env, &rc))
		return rc;
	if (!is(env.key, "send-message"))
		return unknown_key("action", env.key);
	return send_message(env.value, env.idempotency_key);
}

/* ------------------------------------------------------------------------ */
/* auth: the Go PDK's default                                                */

/* auth answers op "test" with {"ok":true,"set":{}} and fails every other op,
 * as the Go PDK does for a connector without an auth handler. The input is
 * read as encoding/json reads it into the PDK's AuthRequest. */
SPLICE_EXPORT("auth") int32_t auth(void)
{
	static const char *const fields[3] = {"op", "credential", "config"};
	uint32_t n;
	splice_reset();
	const uint8_t *doc = splice_input_alloc(&n);
	if (doc == NULL)
		return out_of_memory();
	if (!splice_json_check(doc, n, SPLICE_JSON_LAX_UTF8))
		return splice_error("pdk: auth: decode input: invalid JSON");
	span in = {doc, n}, op = {(const uint8_t *)"", 0};
	in = trim_space(in);
	splice_buf err;
	int have_err = 0;
	splice_json_iter it;
	if (is_null(in)) {
		/* null decodes to the zero AuthRequest */
	} else if (!splice_json_iter_start(&it, in.p, in.n, '{')) {
		splice_buf_init(&err, 128);
		splice_buf_str(&err, "pdk: auth: decode input: json: cannot unmarshal ");
		splice_buf_str(&err, kind_of(in));
		splice_buf_str(&err, " into Go value of type pdk.AuthRequest");
		return fail(&err);
	} else {
		span k, v;
		while (splice_json_iter_member(&it, &k.p, &k.n, &v.p, &v.n)) {
			span key = decode(k);
			if (key.p == NULL)
				return out_of_memory();
			int f = -1;
			for (int j = 0; j < 3 && f < 0; j++)
				if (fold_equal(key, fields[j]))
					f = j;
			if (f < 0 || is_null(v))
				continue;
			if (f == 0 && v.p[0] == '"') {
				if ((op = decode(v)).p == NULL)
					return out_of_memory();
			} else if (f > 0 && v.p[0] == '{') {
				/* a map[string]any: any object will do */
			} else if (!have_err) {
				have_err = 1;
				splice_buf_init(&err, 128);
				splice_buf_str(&err, "pdk: auth: decode input: json: cannot unmarshal ");
				splice_buf_str(&err, kind_of(v));
				splice_buf_str(&err, " into Go struct field AuthRequest.");
				splice_buf_str(&err, fields[f]);
				splice_buf_str(&err, f == 0 ? " of type string" : " of type map[string]interface {}");
			}
		}
		if (have_err)
			return fail(&err);
	}
	if (is(op, "test")) {
		splice_output_str("{\"ok\":true,\"set\":{}}");
		return 0;
	}
	splice_buf_init(&err, 64 + op.n);
	splice_buf_str(&err, "pdk: connector chat does not support auth op ");
	buf_goquote(&err, op.p, op.n);
	return fail(&err);
}
