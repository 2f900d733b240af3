package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The built-in policy: what applies when no WebSocketPolicy exists, and what
// fills every field a WebSocketPolicy leaves unset. Sources for each value:
// ../shared/spec/defaults.md and the research notes it cites.
const (
	DefaultIdleTimeoutSeconds     int32 = 3600
	DefaultCookieName                   = "ws-server"
	DefaultCookieMaxAgeSeconds    int32 = 86400
	DefaultCookieSameSite               = "Lax"
	DefaultClientIPTimeoutSeconds int32 = 10800
	// DefaultPortProtocolHint is portable across Istio (HTTP) and Linkerd
	// (HTTP/1); "kubernetes.io/ws" would be opaque TCP to Linkerd.
	DefaultPortProtocolHint      = "http"
	DefaultNginxAnnotationPrefix = "nginx.ingress.kubernetes.io"
	DefaultAuditInterval         = 5 * time.Minute
)

// BuiltinRules is the rule catalog (../shared/spec/rules.md): each rule's
// default action, scope and severity. The rules themselves are Rego under
// policies/, one file per family.
var BuiltinRules = map[string]RuleSetting{
	// Security and validity: every namespace that is not excluded.
	"nginx-snippet-annotation":         {Action: ActionDeny, Scope: ScopeCluster, Severity: "critical"},
	"haproxy-config-snippet":           {Action: ActionDeny, Scope: ScopeCluster, Severity: "critical"},
	"traefik-insecure-skip-verify":     {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"cors-wildcard-credentials":        {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"ingress-class-mismatch":           {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"istio-lb-policy-conflict":         {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"istio-zero-timeout":               {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"istio-h2-upgrade-client-protocol": {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"service-affinity-timeout-range":   {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"alb-ssl-redirect-format":          {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},

	// WebSocket correctness: opted-in objects only.
	"nginx-timeout-format":                    {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"nginx-connect-timeout-range":             {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},
	"websocket-idle-timeout-too-low":          {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"nginx-upgrade-blocked":                   {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"tls-required":                            {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"ssl-redirect-disabled":                   {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"affinity-hash-conflict":                  {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},
	"cookie-samesite-none-insecure":           {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"sticky-cookie-insecure":                  {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"traefik-annotation-type":                 {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"traefik-legacy-api-group":                {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"haproxy-timeout-format":                  {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"haproxy-cookie-conflict":                 {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "medium"},
	"istio-h2-upgrade":                        {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"istio-route-timeout":                     {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"istio-cookie-hash-ttl":                   {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"http2-only-port":                         {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"linkerd-http2-protocol":                  {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"linkerd-server-authorization-deprecated": {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},
	"foreign-controller-annotation":           {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},
	"alb-idle-timeout-range":                  {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "medium"},
}

// BuiltinPolicy returns the built-in policy with every field set.
func BuiltinPolicy() WebSocketPolicySpec {
	return WebSocketPolicySpec{}.WithDefaults()
}

// WithDefaults returns a copy of s whose unset fields hold the built-in
// defaults. The result has no nil pointers in Mutation.
func (s WebSocketPolicySpec) WithDefaults() WebSocketPolicySpec {
	out := s
	m := &out.Mutation
	m.IdleTimeoutSeconds = orInt32(m.IdleTimeoutSeconds, DefaultIdleTimeoutSeconds)
	m.Affinity.Enabled = orBool(m.Affinity.Enabled, true)
	m.Affinity.CookieName = orString(m.Affinity.CookieName, DefaultCookieName)
	m.Affinity.CookieMaxAgeSeconds = orInt32(m.Affinity.CookieMaxAgeSeconds, DefaultCookieMaxAgeSeconds)
	m.Affinity.SameSite = orString(m.Affinity.SameSite, DefaultCookieSameSite)
	m.Affinity.SecureOnTLS = orBool(m.Affinity.SecureOnTLS, true)
	m.ServiceAffinity.Enabled = orBool(m.ServiceAffinity.Enabled, true)
	m.ServiceAffinity.TimeoutSeconds = orInt32(m.ServiceAffinity.TimeoutSeconds, DefaultClientIPTimeoutSeconds)
	m.PortProtocolHint = orString(m.PortProtocolHint, DefaultPortProtocolHint)
	out.NginxAnnotationPrefix = orString(out.NginxAnnotationPrefix, DefaultNginxAnnotationPrefix)
	out.MinIdleTimeoutSeconds = orInt32(out.MinIdleTimeoutSeconds, DefaultIdleTimeoutSeconds)
	rules := make(map[string]RuleSetting, len(BuiltinRules))
	for id, def := range BuiltinRules {
		r := s.Rules[id]
		if r.Action == "" {
			r.Action = def.Action
		}
		if r.Scope == "" {
			r.Scope = def.Scope
		}
		r.Severity = def.Severity
		rules[id] = r
	}
	out.Rules = rules
	if out.AuditInterval == nil {
		out.AuditInterval = &metav1.Duration{Duration: DefaultAuditInterval}
	}
	return out
}

// Validate reports every invalid field of s with its path, so a broken
// policy can be refused before it replaces a working one.
func (s WebSocketPolicySpec) Validate() field.ErrorList {
	var errs field.ErrorList
	m := field.NewPath("spec", "mutation")
	if v := s.Mutation.IdleTimeoutSeconds; v != nil && *v < 1 {
		errs = append(errs, field.Invalid(m.Child("idleTimeoutSeconds"), *v, "must be a whole number of seconds, at least 1"))
	}
	a := m.Child("affinity")
	if v := s.Mutation.Affinity.CookieMaxAgeSeconds; v != nil && *v < 0 {
		errs = append(errs, field.Invalid(a.Child("cookieMaxAgeSeconds"), *v, "must not be negative"))
	}
	if v := s.Mutation.Affinity.SameSite; v != "" && v != "Lax" && v != "Strict" && v != "None" {
		errs = append(errs, field.NotSupported(a.Child("sameSite"), v, []string{"Lax", "Strict", "None"}))
	}
	if v := s.Mutation.ServiceAffinity.TimeoutSeconds; v != nil && (*v < 1 || *v > 86400) {
		errs = append(errs, field.Invalid(m.Child("serviceAffinity", "timeoutSeconds"), *v, "must be between 1 and 86400 (the API server's limit)"))
	}
	for id, r := range s.Rules {
		p := field.NewPath("spec", "rules").Key(id)
		if _, known := BuiltinRules[id]; !known {
			errs = append(errs, field.NotFound(p, id))
			continue
		}
		switch r.Action {
		case "", ActionDeny, ActionWarn, ActionAudit, ActionOff:
		default:
			errs = append(errs, field.NotSupported(p.Child("action"), r.Action, []RuleAction{ActionDeny, ActionWarn, ActionAudit, ActionOff}))
		}
		switch r.Scope {
		case "", ScopeCluster, ScopeOptedIn:
		default:
			errs = append(errs, field.NotSupported(p.Child("scope"), r.Scope, []RuleScope{ScopeCluster, ScopeOptedIn}))
		}
	}
	if v := s.MinIdleTimeoutSeconds; v != nil && *v < 1 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "minIdleTimeoutSeconds"), *v, "must be a whole number of seconds, at least 1"))
	}
	if d := s.AuditInterval; d != nil && d.Duration < 10*time.Second {
		errs = append(errs, field.Invalid(field.NewPath("spec", "auditInterval"), d.Duration.String(), "must be at least 10s"))
	}
	return errs
}

func orInt32(p *int32, def int32) *int32 {
	if p != nil {
		return p
	}
	return &def
}

func orBool(p *bool, def bool) *bool {
	if p != nil {
		return p
	}
	return &def
}

func orString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
