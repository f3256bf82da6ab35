package validate

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Error reports a document that failed validation. It lists every failure found, each as a
// [Cause]. Callers get it with [errors.As]. An *Error is not modified after it is returned and
// is safe for concurrent reads.
type Error struct {
	// Subject is what failed: "manifest", "schema" (a schema given to [Compile]) or "document"
	// (a document given to [Schema.Validate]).
	Subject string `json:"subject"`
	// Causes are the failures, at least one, ordered by instance path (array indexes
	// numerically), then schema path.
	Causes []Cause `json:"causes"`
}

// Cause is one validation failure.
type Cause struct {
	// Keyword is the JSON Schema keyword that failed ("required", "pattern", ...), or the name
	// of a check beyond the schema ("json" for a document that is not JSON, "maxBytes" and
	// "maxDepth" for one too large or too deep, "uniqueKeys", "hostGlob").
	Keyword string `json:"keyword"`
	// InstancePath is the JSON pointer of the failing value in the document; "" is the whole
	// document.
	InstancePath string `json:"instancePath"`
	// SchemaPath locates the failing keyword in the schema: a fragment such as
	// "#/$defs/slug/pattern" within the schema the document was validated against, or an
	// absolute URL within another (a metaschema). For a check beyond the schema, it locates
	// the schema of the value the check applies to; for a document that is not JSON, it is "".
	SchemaPath string `json:"schemaPath"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
}

// maxListed is how many causes Error.Error lists before summing up the rest.
const maxListed = 5

// Error returns "validate: <subject>: <path>: <keyword>: <message>", with up to five causes
// separated by "; " and a count of the rest.
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("validate: ")
	sb.WriteString(e.Subject)
	sb.WriteString(": ")
	if len(e.Causes) == 0 {
		sb.WriteString("invalid")
	}
	for i, c := range e.Causes {
		if i == maxListed {
			fmt.Fprintf(&sb, "; and %d more", len(e.Causes)-maxListed)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(c.String())
	}
	return sb.String()
}

// String returns "<path>: <keyword>: <message>", with "(root)" for the whole document.
func (c Cause) String() string {
	path := c.InstancePath
	if path == "" {
		path = "(root)"
	}
	return path + ": " + c.Keyword + ": " + c.Message
}

// newError returns an *Error of subject with causes in their documented order.
func newError(subject string, causes []Cause) *Error {
	slices.SortStableFunc(causes, func(a, b Cause) int {
		if c := comparePointers(a.InstancePath, b.InstancePath); c != 0 {
			return c
		}
		return strings.Compare(a.SchemaPath, b.SchemaPath)
	})
	return &Error{Subject: subject, Causes: causes}
}

// comparePointers orders JSON pointers token by token, numeric tokens by value.
func comparePointers(a, b string) int {
	for a != "" && b != "" {
		var ta, tb string
		ta, a = nextToken(a)
		tb, b = nextToken(b)
		if ta == tb {
			continue
		}
		na, errA := strconv.ParseUint(ta, 10, 64)
		nb, errB := strconv.ParseUint(tb, 10, 64)
		if errA == nil && errB == nil {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(ta, tb)
	}
	return cmp.Compare(len(a), len(b))
}

// nextToken splits the first token off the JSON pointer p.
func nextToken(p string) (tok, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// maxMessage is the length in bytes beyond which a message is cut short: messages quote the
// failing value, which may be large.
const maxMessage = 400

// describe returns the text of a failure of kind k, without the keyword the library repeats
// at its start, and cut short.
func describe(k jsonschema.ErrorKind, kw string) string {
	msg := k.LocalizedString(printer)
	msg = strings.TrimPrefix(msg, kw+": ")
	return truncate(msg)
}

// truncate cuts msg to at most about maxMessage bytes, on a rune boundary.
func truncate(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// printer renders the library's messages. It is never modified.
var printer = message.NewPrinter(language.English)

// flatten appends to out the leaves of the tree ve, the failures themselves, with instance
// paths under prefix and schema paths relative to base.
func flatten(out []Cause, ve *jsonschema.ValidationError, prefix, base string) []Cause {
	if pn, ok := ve.ErrorKind.(*kind.PropertyNames); ok && len(ve.Causes) > 0 {
		// The causes validated the property name as a document of its own: place them at the
		// object that has the property.
		n := len(out)
		for _, c := range ve.Causes {
			out = flatten(out, c, prefix, base)
		}
		for i := n; i < len(out); i++ {
			out[i].InstancePath = prefix + pointer(ve.InstanceLocation)
			out[i].Message = truncate(fmt.Sprintf("property name %s: %s", strconv.Quote(pn.Property), out[i].Message))
		}
		return out
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			out = flatten(out, c, prefix, base)
		}
		return out
	}
	kw := keyword(ve.ErrorKind)
	loc := ve.SchemaURL
	if kp := ve.ErrorKind.KeywordPath(); len(kp) > 0 {
		loc += pointer(kp)
	}
	return append(out, Cause{
		Keyword:      kw,
		InstancePath: prefix + pointer(ve.InstanceLocation),
		SchemaPath:   relative(loc, base),
		Message:      describe(ve.ErrorKind, kw),
	})
}

// keyword names the keyword of a failure.
func keyword(k jsonschema.ErrorKind) string {
	if kp := k.KeywordPath(); len(kp) > 0 {
		return kp[0]
	}
	switch k.(type) {
	case *kind.FalseSchema:
		return "false"
	case *kind.Not:
		return "not"
	case *kind.RefCycle:
		return "$ref"
	case *kind.InvalidJsonValue:
		return "type"
	}
	return "schema"
}

// pointer returns the JSON pointer of tokens.
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		sb.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return sb.String()
}

// relative returns loc, a schema URL, as a fragment ("#/...") when it lies in the document
// base, and unchanged otherwise.
func relative(loc, base string) string {
	if base == "" {
		return loc
	}
	if rest, ok := strings.CutPrefix(loc, base); ok && (rest == "" || rest[0] == '#') {
		if rest == "" {
			return "#"
		}
		return rest
	}
	return loc
}

// fragmentPointer returns the JSON pointer in the fragment of loc when loc lies in the
// document base, percent-decoded, and "" otherwise.
func fragmentPointer(loc, base string) string {
	rest, ok := strings.CutPrefix(loc, base+"#")
	if !ok {
		return ""
	}
	if p, err := url.PathUnescape(rest); err == nil {
		return p
	}
	return rest
}

// compileCauses turns a failure to compile the schema at base into causes, with instance
// paths under prefix (the schema's place in the document it came from).
func compileCauses(err error, prefix, base string) []Cause {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		// Paths in metaschema failures are already paths in the schema document.
		return flatten(nil, ve, prefix, base)
	}
	// The document's own URL is an artefact of compiling it: drop it from messages.
	c := Cause{Keyword: "schema", InstancePath: prefix, Message: truncate(strings.ReplaceAll(err.Error(), base, ""))}
	var (
		loadErr   *jsonschema.LoadURLError
		anchorErr *jsonschema.AnchorNotFoundError
		ptrErr    *jsonschema.InvalidJsonPointerError
		nfErr     *jsonschema.JSONPointerNotFoundError
		urlErr    *jsonschema.ParseURLError
		regexErr  *jsonschema.InvalidRegexError
		draftErr  *jsonschema.UnsupportedDraftError
		metaErr   *jsonschema.InvalidMetaSchemaURLError
		cycleErr  *jsonschema.MetaSchemaCycleError
		matchErr  *jsonschema.MetaSchemaMismatchError
		dupIDErr  *jsonschema.DuplicateIDError
		idErr     *jsonschema.ParseIDError
		dupAnErr  *jsonschema.DuplicateAnchorError
		anErr     *jsonschema.ParseAnchorError
	)
	switch {
	case errors.As(err, &regexErr):
		c.Keyword = "pattern"
		c.InstancePath += fragmentPointer(regexErr.URL, base)
		c.Message = truncate(fmt.Sprintf("invalid regular expression %s: %v", strconv.Quote(regexErr.Regex), regexErr.Err))
	case errors.As(err, &loadErr):
		c.Keyword = "$ref"
		c.Message = truncate(fmt.Sprintf("cannot load %s: references to other documents are not allowed", strconv.Quote(loadErr.URL)))
	case errors.As(err, &anchorErr):
		c.Keyword = "$ref"
		c.InstancePath += fragmentPointer(anchorErr.URL, base)
		c.Message = truncate(fmt.Sprintf("anchor of %s not found", strconv.Quote(anchorErr.Reference)))
	case errors.As(err, &ptrErr):
		c.Keyword = "$ref"
		c.Message = truncate(fmt.Sprintf("%s is not a valid JSON pointer", strconv.Quote(relative(ptrErr.URL, base))))
	case errors.As(err, &nfErr):
		c.Keyword = "$ref"
		c.Message = truncate(fmt.Sprintf("%s does not point into the schema", strconv.Quote(relative(nfErr.URL, base))))
	case errors.As(err, &urlErr):
		c.Keyword = "$ref"
	case errors.As(err, &draftErr), errors.As(err, &metaErr), errors.As(err, &cycleErr), errors.As(err, &matchErr):
		c.Keyword = "$schema"
	case errors.As(err, &dupIDErr):
		c.Keyword = "$id"
	case errors.As(err, &idErr):
		c.Keyword = "$id"
		c.InstancePath += fragmentPointer(idErr.URL, base)
	case errors.As(err, &dupAnErr), errors.As(err, &anErr):
		c.Keyword = "$anchor"
	}
	return []Cause{c}
}
