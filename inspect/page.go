package inspect

import _ "embed"

// page is the HTML page: one file, its style and script inline, no
// external assets. It fetches api/v1/state (relative to itself) with the
// filters of its form, which mirror its URL's query, once a second.
//
//go:embed page.html
var page []byte
