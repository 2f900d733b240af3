//go:build tools

// Package tools pins Regal, the Rego linter `make lint-rego` runs on
// policies/. Its own module, so Regal's OPA version never constrains the
// product's.
package tools

import _ "github.com/styrainc/regal"
