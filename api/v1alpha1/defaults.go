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
