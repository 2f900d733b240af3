package edge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ws-defaults/ws-defaults/webhook/evidence"
)

// Unit is how a provider's idle-timeout annotation writes a time.
type Unit string

// Units.
const (
	Seconds Unit = "seconds"
	Minutes Unit = "minutes"
	// Duration is a Go duration string ("300s", "1h"); a bare number fails.
	Duration Unit = "Go duration"
)

// Setting is one idle timeout of a Service's load balancer: the
// annotation that sets it (Key empty when nothing can), in the provider's
// unit and range, and the provider's default.
type Setting struct {
	// Listener names the listener for providers that set it per listener
	// ("TCP-443"), else "".
	Listener string
	// Key is the annotation; "" when the idle timeout cannot be set.
	Key string
	// Attribute is, for a key holding a k=v,k2=v2 map, the map key that
	// holds the idle timeout ("" for a plain value).
	Attribute string
	Unit      Unit
	// Min and Max bound what the provider accepts, in seconds (Max 0: no
	// known bound).
	Min, Max int64
	// RangeDocumented: the provider documents Min and Max (API reference or
	// its cloud controller), so a value outside them is known to fail.
	// Otherwise they are only what mutation keeps to.
	RangeDocumented bool
	// Default is the provider's idle timeout when the annotation is absent,
	// in seconds: 0 unknown, NoIdle when the load balancer does not proxy
	// and has no idle timeout of its own.
	Default int64
	// Note is said wherever the setting is shown (why it is fixed, what is
	// unverified).
	Note string
	// Skip, when set, says why mutation adds nothing to Key although the
	// provider reads it (the rules still check a value the user wrote).
	Skip string
	// Port is the index in spec.ports of the listener's port (-1 when the
	// setting is not per listener).
	Port int
	// parse reads the annotation value as the provider does.
	parse func(string) (int64, error)
}

// NoIdle is Setting.Default for a pass-through load balancer without an idle
// timeout.
const NoIdle int64 = -1

// Field is the setting's field path, as rules and results name it.
func (s Setting) Field() string {
	if s.Key == "" {
		return ""
	}
	return "metadata.annotations[" + s.Key + "]"
}

// Annotation keys of the idle timeouts.
const (
	AWSCLBIdleKey        = awsPrefix + "connection-idle-timeout"
	AWSListenerAttrsKey  = awsPrefix + "listener-attributes"
	AWSNLBIdleAttribute  = "tcp.idle_timeout.seconds"
	AWSSSLCertKey        = awsPrefix + "ssl-cert"
	AWSSSLPortsKey       = awsPrefix + "ssl-ports"
	AzureIdleKey         = azurePrefix + "load-balancer-tcp-idle-timeout"
	DOIdleKey            = doPrefix + "http-idle-timeout-seconds"
	OCIIdleKey           = ociPrefix + "connection-idle-timeout"
	HetznerIdleKey       = hetznerPrefix + "http-timeout-idle"
	HetznerProtocolKey   = hetznerPrefix + "protocol"
	ScalewayTunnelKey    = scalewayPrefix + "timeout-tunnel"
	VultrTimeoutKey      = vultrPrefix + "timeout"
	CivoClientTimeoutKey = civoPrefix + "client-timeout"
	CivoServerTimeoutKey = civoPrefix + "server-timeout"
)

// Limits and defaults, in seconds (docs/edge.md cites each).
const (
	AWSCLBMax     = 3600
	AWSCLBDefault = 60
	AWSNLBMin     = 60
	AWSNLBMax     = 6000
	AWSNLBDefault = 350
	AzureMin      = 4 * 60
	AzureMax      = 100 * 60
	AzureDefault  = 4 * 60
	DOMin         = 30
	DOMax         = 600
	DODefault     = 60
	OCIMax        = 7200
	OCIDefault    = 300
	HetznerMin    = 30
	HetznerMax    = 300
	ScalewayDef   = 600
	VultrMax      = 3600
	VultrDefault  = 600
	CivoDefault   = 60
)

// Settings lists the idle timeouts of lb for the Service obj: one per
// listener where the provider sets it per listener (the AWS Load Balancer
// Controller), else one (two for Civo: client and server side). Empty when
// the provider is unknown or none.
func Settings(lb LB, obj map[string]any) []Setting {
	out := settings(lb, obj)
	for i := range out {
		if out[i].Listener == "" || lb.Provider == Civo {
			out[i].Port = -1
		}
	}
	return out
}

func settings(lb LB, obj map[string]any) []Setting {
	ann := annotations(obj)
	switch lb.Provider {
	case AWSCLB:
		if lb.Variant == CCMNLB {
			return []Setting{{Default: AWSNLBDefault, Note: "the AWS cloud provider's NLB has no idle-timeout setting (350 s); " +
				AWSCLBIdleKey + " is ignored on it"}}
		}
		return []Setting{{Key: AWSCLBIdleKey, Unit: Seconds, Min: 1, Max: AWSCLBMax, RangeDocumented: true, Default: AWSCLBDefault, parse: parseInt32}}
	case AWSNLB:
		return nlbSettings(lb, obj, ann)
	case Azure:
		return []Setting{{Key: AzureIdleKey, Unit: Minutes, Min: AzureMin, Max: AzureMax, RangeDocumented: true, Default: AzureDefault, parse: parseAzureMinutes}}
	case GCP:
		return []Setting{{Default: NoIdle, Note: "pass-through: connections end at the backends, no idle timeout of its own"}}
	case MetalLB:
		return []Setting{{Default: NoIdle, Note: "no proxy: no idle timeout of its own"}}
	case Linode:
		return []Setting{{Note: "NodeBalancers have no idle-timeout setting; their idle limit is not documented"}}
	case DigitalOcean:
		s := Setting{Key: DOIdleKey, Unit: Seconds, Min: DOMin, Max: DOMax, parse: parseUint64}
		switch lb.Variant {
		case DORegional:
			s.Default = DODefault
		case DORegionalNetwork:
			s.Default, s.Note = NoIdle, "REGIONAL_NETWORK is pass-through"
			s.Skip = s.Note
		default:
			s.Note = "type unknown: REGIONAL (proxy, 60 s idle) or REGIONAL_NETWORK (pass-through, the cloud controller's default since v0.1.61); set " + DOTypeAnnotation
			s.Skip = s.Note
		}
		return []Setting{s}
	case OCI:
		if lb.Variant == OCINLB {
			return []Setting{{Note: "OCI's network load balancer has no idle-timeout annotation"}}
		}
		return []Setting{{Key: OCIIdleKey, Unit: Seconds, Min: 1, Max: OCIMax, Default: OCIDefault, parse: parseInt64,
			Note: "300 s for TCP listeners, 60 s for HTTP"}}
	case Hetzner:
		switch strings.ToLower(strings.TrimSpace(str(ann, HetznerProtocolKey))) {
		case "http", "https":
			return []Setting{{Key: HetznerIdleKey, Unit: Duration, Min: HetznerMin, Max: HetznerMax, RangeDocumented: true,
				parse: parseGoDuration, Note: "HTTP services only"}}
		}
		note := "TCP service: " + HetznerIdleKey + " is an HTTP option; the TCP idle limit is not documented"
		return []Setting{{Key: HetznerIdleKey, Unit: Duration, Min: HetznerMin, Max: HetznerMax, RangeDocumented: true,
			parse: parseGoDuration, Note: note, Skip: note}}
	case Scaleway:
		return []Setting{{Key: ScalewayTunnelKey, Unit: Duration, Min: 1, Default: ScalewayDef, parse: parseGoDuration,
			Note: "the tunnel timeout governs an upgraded connection"}}
	case Vultr:
		return []Setting{{Key: VultrTimeoutKey, Unit: Seconds, Min: 1, Max: VultrMax, Default: VultrDefault, parse: parseAtoi}}
	case Civo:
		return []Setting{
			{Listener: "client", Key: CivoClientTimeoutKey, Unit: Duration, Min: 1, Default: CivoDefault, parse: parseGoDuration},
			{Listener: "server", Key: CivoServerTimeoutKey, Unit: Duration, Min: 1, Default: CivoDefault, parse: parseGoDuration},
		}
	}
	return nil
}

// nlbSettings are the AWS Load Balancer Controller's per-listener idle
// timeouts: one per TCP port, TLS listeners fixed at 350 s.
func nlbSettings(lb LB, obj map[string]any, ann map[string]any) []Setting {
	spec, _ := obj["spec"].(map[string]any)
	ports, _ := spec["ports"].([]any)
	_, hasCert := ann[AWSSSLCertKey]
	tlsPorts := evidence.SplitList(str(ann, AWSSSLPortsKey))
	var out []Setting
	for i, p := range ports {
		port, _ := p.(map[string]any)
		if proto, _ := port["protocol"].(string); proto != "" && proto != "TCP" {
			continue
		}
		number := evidence.NumberOf(port["port"])
		name, _ := port["name"].(string)
		if hasCert && (len(tlsPorts) == 0 || slices.Contains(tlsPorts, name) || slices.Contains(tlsPorts, strconv.FormatInt(number, 10))) {
			out = append(out, Setting{Listener: fmt.Sprintf("TLS-%d", number), Default: AWSNLBDefault, Port: i,
				Note: "the idle timeout of an NLB TLS listener is fixed at 350 s"})
			continue
		}
		s := Setting{Listener: fmt.Sprintf("TCP-%d", number), Key: fmt.Sprintf("%s.TCP-%d", AWSListenerAttrsKey, number),
			Attribute: AWSNLBIdleAttribute, Unit: Seconds, Min: AWSNLBMin, Max: AWSNLBMax, RangeDocumented: true, Default: AWSNLBDefault,
			parse: parseInt64, Port: i}
		if lb.Variant == EKSAuto {
			// Whether EKS Auto Mode reads listener attributes is not
			// documented: nothing is added there.
			s.Key, s.Attribute, s.Note = "", "", "EKS Auto Mode: listener attributes are not documented; idle 350 s"
		}
		out = append(out, s)
	}
	return out
}

// Format writes seconds as the setting's annotation value, within the
// provider's range: raised to Min, capped at Max, rounded up to whole
// minutes for Azure. used is the idle timeout the value means, in seconds.
func (s Setting) Format(seconds int64) (value string, used int64) {
	used = max(seconds, s.Min)
	if s.Max > 0 {
		used = min(used, s.Max)
	}
	switch s.Unit {
	case Minutes:
		m := (used + 59) / 60
		used = m * 60
		if s.Max > 0 && used > s.Max {
			m, used = s.Max/60, s.Max
		}
		value = strconv.FormatInt(m, 10)
	case Duration:
		// Civo documents "60s" and "120m"; Go reads both.
		if used%60 == 0 {
			value = strconv.FormatInt(used/60, 10) + "m"
		} else {
			value = strconv.FormatInt(used, 10) + "s"
		}
	default:
		value = strconv.FormatInt(used, 10)
	}
	if s.Attribute != "" {
		value = s.Attribute + "=" + value
	}
	return value, used
}

// Value is what an annotation value means, as the provider reads it.
type Value struct {
	// Seconds is the idle timeout; meaningful when Err is nil.
	Seconds int64
	// Set is false when the value (or, for a map, its attribute) is absent.
	Set bool
	// Err says why the provider cannot read the value (wrong unit or
	// format): its sync then fails.
	Err error
	// OutOfRange says why the provider refuses a readable value (only for
	// a documented range).
	OutOfRange string
}

// Read reads the setting from the Service's annotations.
func (s Setting) Read(obj map[string]any) Value {
	if s.Key == "" {
		return Value{}
	}
	raw, ok := annotations(obj)[s.Key]
	if !ok {
		return Value{}
	}
	v, _ := raw.(string)
	return s.ReadValue(v)
}

// ReadValue reads one annotation value of the setting.
func (s Setting) ReadValue(v string) Value {
	if s.parse == nil {
		return Value{}
	}
	if s.Attribute != "" {
		m, err := ParseStringMap(v)
		if err != nil {
			return Value{Set: true, Err: err}
		}
		a, ok := m[s.Attribute]
		if !ok {
			return Value{}
		}
		v = a
	}
	n, err := s.parse(v)
	if err != nil {
		return Value{Set: true, Err: err}
	}
	out := Value{Seconds: n, Set: true}
	if s.RangeDocumented && (n < s.Min || (s.Max > 0 && n > s.Max)) {
		out.OutOfRange = s.RangeText()
	}
	return out
}

// RangeText is the accepted range in the setting's own unit.
func (s Setting) RangeText() string {
	in := func(sec int64) string {
		switch s.Unit {
		case Minutes:
			return strconv.FormatInt(sec/60, 10)
		case Duration:
			return (time.Duration(sec) * time.Second).String()
		}
		return strconv.FormatInt(sec, 10)
	}
	if s.Max == 0 {
		return fmt.Sprintf("at least %s %s", in(s.Min), s.Unit)
	}
	return fmt.Sprintf("%s to %s %s", in(s.Min), in(s.Max), s.Unit)
}

// ParseStringMap reads a k=v,k2=v2 annotation as the AWS Load Balancer
// Controller does (annotations.ParseStringMapAnnotation, v2.14+): a comma
// separates pairs only when a '=' follows it somewhere (so a value may hold
// commas), a backslash escapes the next character, and every pair needs a
// '=' and a non-empty key.
func ParseStringMap(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range splitPairs(v) {
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not a key=value pair", pair)
		}
		out[k] = strings.TrimSpace(val)
	}
	return out, nil
}

// splitPairs splits a string map into its pairs (see ParseStringMap).
func splitPairs(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
		case s[i] == ',':
			rest := strings.TrimSpace(s[i+1:])
			switch {
			case strings.Contains(rest, "="):
				out = append(out, strings.TrimSpace(cur.String()))
				cur.Reset()
			case rest != "":
				return append(out, strings.TrimSpace(cur.String()), rest)
			default:
				cur.WriteByte(',')
			}
		default:
			cur.WriteByte(s[i])
		}
	}
	if cur.Len() > 0 {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// The providers' parsers (docs/edge.md names the function each copies).

// parseInt32: cloud-provider-aws, strconv.ParseInt(v, 10, 32), untrimmed.
func parseInt32(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of seconds")
	}
	return n, nil
}

// parseInt64: OCI (strconv.ParseInt(v, 10, 64)) and the NLB listener
// attribute (an integer for the AWS API).
func parseInt64(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of seconds")
	}
	return n, nil
}

// parseUint64: DigitalOcean, strconv.ParseUint(v, 10, 64).
func parseUint64(v string) (int64, error) {
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of seconds")
	}
	return int64(n), nil
}

// parseAtoi: Vultr, strconv.Atoi.
func parseAtoi(v string) (int64, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of seconds")
	}
	return int64(n), nil
}

// parseAzureMinutes: cloud-provider-azure, TrimSpace then
// strconv.ParseInt(v, 10, 32), in minutes.
func parseAzureMinutes(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not a whole number of minutes")
	}
	return n * 60, nil
}

// parseGoDuration: Hetzner and Scaleway, time.ParseDuration (a bare number
// fails); Civo passes the string to its API, documented in this form.
func parseGoDuration(v string) (int64, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("not a Go duration such as 300s or 1h")
	}
	return int64(d / time.Second), nil
}

func annotations(obj map[string]any) map[string]any {
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	return ann
}

func str(ann map[string]any, k string) string {
	s, _ := ann[k].(string)
	return s
}
