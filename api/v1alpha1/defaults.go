package v1alpha1

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
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
	DefaultPortProtocolHint      = PortProtocolHTTP
	DefaultNginxAnnotationPrefix = "nginx.ingress.kubernetes.io"
	// DefaultNginxAnnotationsRiskLevel is ingress-nginx's own default for
	// its ConfigMap key annotations-risk-level.
	DefaultNginxAnnotationsRiskLevel = RiskLevelHigh
	DefaultAuditInterval             = 5 * time.Minute
	// DefaultOutsideOptIn: installing ws-defaults denies nothing outside
	// the namespaces that opted in; cluster-scope rules warn there.
	DefaultOutsideOptIn = ActionWarn
	// DefaultOptedOut: an object labelled ws-defaults=disabled gets nothing.
	DefaultOptedOut = ActionOff
	// DefaultEdgeProvider detects each Service's load balancer.
	DefaultEdgeProvider = EdgeProviderAuto
)

// Values of spec.edge.provider.
const (
	EdgeProviderAuto = "auto"
	EdgeProviderNone = "none"
)

// EdgeProviders are the values spec.edge.provider accepts (the CRD's enum).
var EdgeProviders = []string{EdgeProviderAuto, "aws-clb", "aws-nlb", "azure", "gcp", "digitalocean", "oci",
	"hetzner", "scaleway", "vultr", "civo", "linode", "metallb", EdgeProviderNone}

// Limits Validate enforces (the CRD's schema has the same).
const (
	// MaxIdleTimeoutSeconds is 7 days.
	MaxIdleTimeoutSeconds int32 = 7 * 24 * 3600
	// MaxClientIPTimeoutSeconds is the API server's limit on
	// sessionAffinityConfig.clientIP.timeoutSeconds.
	MaxClientIPTimeoutSeconds int32 = 86400
	// MinAuditInterval keeps the audit loop from hammering the API server.
	MinAuditInterval = 10 * time.Second
	// MaxCookieNameLength bounds spec.mutation.affinity.cookieName.
	MaxCookieNameLength = 256
)

// PortProtocolHints are the values spec.mutation.portProtocolHint accepts.
var PortProtocolHints = []string{PortProtocolHTTP, PortProtocolWS, PortProtocolWSS}

// NginxAnnotationsRiskLevels are the values spec.nginxAnnotationsRiskLevel
// accepts, most permissive first.
var NginxAnnotationsRiskLevels = []string{RiskLevelCritical, RiskLevelHigh, RiskLevelMedium, RiskLevelLow}

// SameSiteValues are the values spec.mutation.affinity.sameSite accepts.
var SameSiteValues = []string{"Lax", "Strict", "None"}

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
	"alb-group-attributes-conflict":           {Action: ActionWarn, Scope: ScopeCluster, Severity: "high"},
	"istio-websocket-upgrade-removed":         {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},
	"nginx-rewrite-ws-path":                   {Action: ActionAudit, Scope: ScopeOptedIn, Severity: "medium"},
	"gke-ws-backend-timeout":                  {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"nginx-upstream-hash-literal":             {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"nginx-path-type-regex":                   {Action: ActionWarn, Scope: ScopeCluster, Severity: "high"},
	"ingress-api-removed":                     {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"kong-ingress-proxy-ignored":              {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"websocket-evidence-missing":              {Action: ActionAudit, Scope: ScopeOptedIn, Severity: "low"},

	// Gateway API and its implementations (rules.md "Gateway API and its
	// implementations"; policies/gatewayapi.rego).
	"gwapi-cors-wildcard-credentials":   {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"gwapi-duration-format":             {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"ngf-duration-format":               {Action: ActionDeny, Scope: ScopeCluster, Severity: "medium"},
	"gwapi-ws-backend-h2c":              {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"gwapi-ws-hop-header-modifier":      {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"eg-ws-upgrade-disabled":            {Action: ActionDeny, Scope: ScopeOptedIn, Severity: "high"},
	"eg-ws-stream-duration-finite":      {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"gwapi-ws-timeouts-ignored":         {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"gwapi-legacy-api-group":            {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
	"gwapi-session-persistence-ignored": {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "low"},

	// The load balancer in front (rules.md "The load balancer in front";
	// policies/edge.rego).
	"edge-affinity-unsupported": {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"edge-idle-timeout-format":  {Action: ActionDeny, Scope: ScopeCluster, Severity: "high"},
	"edge-idle-timeout-ignored": {Action: ActionWarn, Scope: ScopeCluster, Severity: "medium"},
	"edge-idle-timeout-too-low": {Action: ActionWarn, Scope: ScopeOptedIn, Severity: "medium"},
}

// BuiltinPolicy returns the built-in policy with every field set.
func BuiltinPolicy() WebSocketPolicySpec {
	return WebSocketPolicySpec{}.WithDefaults()
}

// WithDefaults returns a copy of s whose unset fields hold the built-in
// defaults. The result has no nil pointers in Mutation and Audit. Applying it
// twice gives the same as once.
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
	out.NginxAnnotationsRiskLevel = orString(out.NginxAnnotationsRiskLevel, DefaultNginxAnnotationsRiskLevel)
	out.MinIdleTimeoutSeconds = orInt32(out.MinIdleTimeoutSeconds, DefaultIdleTimeoutSeconds)
	out.Edge.Provider = orString(out.Edge.Provider, DefaultEdgeProvider)
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
	if len(s.CustomRules) > 0 {
		out.CustomRules = make([]CustomRule, len(s.CustomRules))
		for i, r := range s.CustomRules {
			if r.Action == "" {
				r.Action = DefaultCustomRuleAction
			}
			if r.Scope == "" {
				r.Scope = DefaultCustomRuleScope
			}
			if r.Severity == "" {
				r.Severity = DefaultCustomRuleSeverity
			}
			out.CustomRules[i] = r
		}
	}
	if out.Enforcement.OutsideOptIn == "" {
		out.Enforcement.OutsideOptIn = DefaultOutsideOptIn
	}
	if out.Enforcement.OptedOut == "" {
		out.Enforcement.OptedOut = DefaultOptedOut
	}
	if out.Audit.Interval == nil {
		out.Audit.Interval = &metav1.Duration{Duration: DefaultAuditInterval}
	}
	return out
}

// Validate reports every invalid field of the policy object: its name
// (only "default" is read) and everything Spec.Validate reports.
func (p *WebSocketPolicy) Validate() field.ErrorList {
	var errs field.ErrorList
	if p.Name != PolicyName {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), p.Name,
			fmt.Sprintf("the WebSocketPolicy must be named %q: the webhook reads only that one", PolicyName)))
	}
	return append(errs, p.Spec.Validate()...)
}

// ingress-nginx removes spaces from session-cookie-name and replaces a name
// that then does not match this with INGRESSCOOKIE, silently.
var nginxCookieName = regexp.MustCompile(`^[/\-._~a-zA-Z0-9:]*$`)

// Validate reports every invalid field of s with its path (spec.…), so a
// broken policy can be refused before it replaces a working one. It is the
// authority: the CRD's schema checks a subset of it.
func (s WebSocketPolicySpec) Validate() field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	m := spec.Child("mutation")
	if v := s.Mutation.IdleTimeoutSeconds; v != nil && (*v < 1 || *v > MaxIdleTimeoutSeconds) {
		errs = append(errs, field.Invalid(m.Child("idleTimeoutSeconds"), *v, fmt.Sprintf("must be a whole number of seconds from 1 to %d (7 days)", MaxIdleTimeoutSeconds)))
	}
	a := m.Child("affinity")
	if v := s.Mutation.Affinity.CookieName; v != "" {
		if msg := cookieNameProblem(v); msg != "" {
			errs = append(errs, field.Invalid(a.Child("cookieName"), v, msg))
		}
	}
	if v := s.Mutation.Affinity.CookieMaxAgeSeconds; v != nil && *v < 0 {
		errs = append(errs, field.Invalid(a.Child("cookieMaxAgeSeconds"), *v, "must not be negative"))
	}
	if v := s.Mutation.Affinity.SameSite; v != "" && !slices.Contains(SameSiteValues, v) {
		errs = append(errs, field.NotSupported(a.Child("sameSite"), v, SameSiteValues))
	}
	if v := s.Mutation.ServiceAffinity.TimeoutSeconds; v != nil && (*v < 1 || *v > MaxClientIPTimeoutSeconds) {
		errs = append(errs, field.Invalid(m.Child("serviceAffinity", "timeoutSeconds"), *v, "must be between 1 and 86400 (the API server's limit)"))
	}
	if v := s.Mutation.PortProtocolHint; v != "" && !slices.Contains(PortProtocolHints, v) {
		errs = append(errs, field.NotSupported(m.Child("portProtocolHint"), v, PortProtocolHints))
	}
	ids := make([]string, 0, len(s.Rules))
	for id := range s.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := s.Rules[id]
		p := spec.Child("rules").Key(id)
		if _, known := BuiltinRules[id]; !known {
			errs = append(errs, field.NotFound(p, id))
			continue
		}
		errs = append(errs, validateActionScope(p, r.Action, r.Scope)...)
	}
	seen := map[string]bool{}
	for i, ns := range s.ExcludedNamespaces {
		p := spec.Child("excludedNamespaces").Index(i)
		for _, msg := range validation.IsDNS1123Label(ns) {
			errs = append(errs, field.Invalid(p, ns, "not a namespace name: "+msg))
		}
		if seen[ns] {
			errs = append(errs, field.Duplicate(p, ns))
		}
		seen[ns] = true
	}
	if v := s.Audit.Interval; v != nil && v.Duration < MinAuditInterval {
		errs = append(errs, field.Invalid(spec.Child("audit", "interval"), v.Duration.String(), "must be at least 10s"))
	}
	if v := s.NginxAnnotationPrefix; v != "" {
		for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(v, "/")) {
			errs = append(errs, field.Invalid(spec.Child("nginxAnnotationPrefix"), v,
				"must be ingress-nginx's --annotations-prefix, a DNS subdomain such as nginx.ingress.kubernetes.io (a trailing / is allowed): "+msg))
		}
	}
	if v := s.NginxAnnotationsRiskLevel; v != "" && !slices.Contains(NginxAnnotationsRiskLevels, v) {
		errs = append(errs, field.NotSupported(spec.Child("nginxAnnotationsRiskLevel"), v, NginxAnnotationsRiskLevels))
	}
	if v := s.MinIdleTimeoutSeconds; v != nil && *v < 1 {
		errs = append(errs, field.Invalid(spec.Child("minIdleTimeoutSeconds"), *v, "must be a whole number of seconds, at least 1"))
	}
	e := spec.Child("enforcement")
	errs = append(errs, validateAction(e.Child("outsideOptIn"), s.Enforcement.OutsideOptIn)...)
	errs = append(errs, validateAction(e.Child("optedOut"), s.Enforcement.OptedOut)...)
	if v := s.Edge.Provider; v != "" && !slices.Contains(EdgeProviders, v) {
		errs = append(errs, field.NotSupported(spec.Child("edge", "provider"), v, EdgeProviders))
	}
	return append(errs, validateCustomRules(s.CustomRules)...)
}

// Actions are the values of a rule's action, strongest first.
var Actions = []RuleAction{ActionDeny, ActionWarn, ActionAudit, ActionOff}

// validateAction checks an action ("" means the default).
func validateAction(p *field.Path, action RuleAction) field.ErrorList {
	if action == "" || slices.Contains(Actions, action) {
		return nil
	}
	return field.ErrorList{field.NotSupported(p, action, Actions)}
}

// AtMost is the milder of a and ceiling: a rule whose action is a acts as
// AtMost(a, ceiling) where ceiling caps it (deny > warn > audit > off).
func AtMost(a, ceiling RuleAction) RuleAction {
	if slices.Index(Actions, a) < slices.Index(Actions, ceiling) {
		return ceiling
	}
	return a
}

// validateActionScope checks a rule's action and scope ("" means the
// default), for built-in rule settings and custom rules alike.
func validateActionScope(p *field.Path, action RuleAction, scope RuleScope) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateAction(p.Child("action"), action)...)
	switch scope {
	case "", ScopeCluster, ScopeOptedIn:
	default:
		errs = append(errs, field.NotSupported(p.Child("scope"), scope, []RuleScope{ScopeCluster, ScopeOptedIn}))
	}
	return errs
}

var customRuleID = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// validateCustomRules checks the custom rules' fields. Their Rego is
// compiled in the sandbox by the webhook (webhook/validate), which reports
// its errors at spec.customRules[N].rego.
func validateCustomRules(rules []CustomRule) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "customRules")
	if len(rules) > MaxCustomRules {
		errs = append(errs, field.TooMany(p, len(rules), MaxCustomRules))
	}
	seen := map[string]int{}
	for i, r := range rules {
		rp := p.Index(i)
		switch {
		case len(r.ID) > MaxCustomRuleIDLength:
			errs = append(errs, field.TooLong(rp.Child("id"), r.ID, MaxCustomRuleIDLength))
		case !customRuleID.MatchString(r.ID):
			errs = append(errs, field.Invalid(rp.Child("id"), r.ID, "must be lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. \"team-max-cookie-age\""))
		}
		if _, builtin := BuiltinRules[r.ID]; builtin {
			errs = append(errs, field.Duplicate(rp.Child("id"), r.ID+" (a built-in rule: change its action under spec.rules instead)"))
		}
		if j, dup := seen[r.ID]; dup {
			errs = append(errs, field.Duplicate(rp.Child("id"), fmt.Sprintf("%s (also spec.customRules[%d])", r.ID, j)))
		}
		seen[r.ID] = i
		errs = append(errs, validateActionScope(rp, r.Action, r.Scope)...)
		if r.Severity != "" && !slices.Contains(Severities, r.Severity) {
			errs = append(errs, field.NotSupported(rp.Child("severity"), r.Severity, Severities))
		}
		switch {
		case strings.TrimSpace(r.Rego) == "":
			errs = append(errs, field.Required(rp.Child("rego"), "a Rego module with a package under wsdefaults.custom and a violation rule"))
		case len(r.Rego) > MaxCustomRuleRegoLength:
			errs = append(errs, field.TooLong(rp.Child("rego"), "", MaxCustomRuleRegoLength))
		}
	}
	return errs
}

// cookieNameProblem says why ingress-nginx, or a browser, would not use name
// as given ("" when both would).
func cookieNameProblem(name string) string {
	const hint = `; use letters, digits and - . _ ~ only, e.g. "ws-server"`
	if len(name) > MaxCookieNameLength {
		return fmt.Sprintf("must be at most %d characters", MaxCookieNameLength)
	}
	if !nginxCookieName.MatchString(strings.ReplaceAll(name, " ", "")) {
		return "ingress-nginx silently replaces a cookie name with characters other than letters, digits and / - . _ ~ : by INGRESSCOOKIE" + hint
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return fmt.Sprintf("%q is not allowed in a cookie name (RFC 6265: no spaces, controls or separators ()<>@,;:\\\"/[]?={})", c) + hint
		}
	}
	return ""
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
