package mutate

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration formats of the Gateway API fields the defaults rows write into
// (gateway-api-websocket-facts.md §1.2, §3.3). One function per format;
// each writes a whole number of seconds exactly when the format can, and
// says so when it cannot rather than write something the CRD refuses.

// GatewayDurationPattern is the Gateway API Duration (GEP-2257) as the
// HTTPRoute and Envoy Gateway CRDs validate it (sigs.k8s.io/gateway-api
// apis/v1/shared_types.go Duration; gateway.envoyproxy.io timeout_types.go).
const GatewayDurationPattern = `^([0-9]{1,5}(h|m|s|ms)){1,4}$`

// NGFDurationPattern is NGINX Gateway Fabric's own Duration
// (nginx-gateway-fabric apis/v1alpha1/shared_types.go): one component of at
// most four digits; a bare number means seconds.
const NGFDurationPattern = `^[0-9]{1,4}(ms|s|m|h)?$`

var gatewayDurationRE = regexp.MustCompile(GatewayDurationPattern)

// maxGatewayComponent and maxNGFNumber are the largest numbers one
// component of each format holds (five and four digits).
const (
	maxGatewayComponent = 99999
	maxNGFNumber        = 9999
)

// GatewayDuration writes seconds as a Gateway API Duration: hours, minutes
// and seconds with the zero components left out, so the value is exact and
// short (3600 → "1h", 5400 → "1h30m", 86400 → "24h", 604800 → "168h",
// 90 → "1m30s"). Units are never repeated: GEP-2257 sums repeated units but
// tells users not to rely on it. ok is false below 1 s ("0s" would turn the
// timeout off, which is never what a default means) and above 99999h 59m
// 59s, which one component of hours cannot hold.
func GatewayDuration(seconds int64) (string, bool) {
	if seconds < 1 || seconds/3600 > maxGatewayComponent {
		return "", false
	}
	h, m, s := seconds/3600, seconds%3600/60, seconds%60
	var b strings.Builder
	for _, c := range []struct {
		n    int64
		unit string
	}{{h, "h"}, {m, "m"}, {s, "s"}} {
		if c.n > 0 {
			b.WriteString(strconv.FormatInt(c.n, 10))
			b.WriteString(c.unit)
		}
	}
	return b.String(), true
}

// NGFDuration writes seconds as an NGINX Gateway Fabric Duration: the
// largest unit that holds the value exactly in at most four digits
// (3600 → "1h", 5400 → "90m", 86400 → "24h", 604800 → "168h", 59 → "59s").
// A unit is always written, though a bare number would mean seconds, so
// that nobody has to know that. When no single unit holds the value
// exactly (more than 9999 s that are not whole minutes, or more than 9999
// minutes that are not whole hours) it is rounded UP to the next value the
// format can hold, never down: a timeout shorter than the idle timeout
// would cut idle WebSockets early, and the rules warn about values below the
// policy's minimum; we must never inject what we warn about. ok is false
// below 1 s and above 9999h.
func NGFDuration(seconds int64) (string, bool) {
	if seconds < 1 {
		return "", false
	}
	units := []struct {
		size int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}}
	for _, u := range units {
		if seconds%u.size == 0 && seconds/u.size <= maxNGFNumber {
			return strconv.FormatInt(seconds/u.size, 10) + u.unit, true
		}
	}
	// Seconds (the finest unit) would need five digits or more, so the
	// smallest value at or above them is in whole minutes if 9999 minutes
	// reach that far, else in whole hours.
	for _, u := range []struct {
		size int64
		unit string
	}{{60, "m"}, {3600, "h"}} {
		if n := (seconds + u.size - 1) / u.size; n <= maxNGFNumber {
			return strconv.FormatInt(n, 10) + u.unit, true
		}
	}
	return "", false
}

// parseGatewayDuration reads a Gateway API Duration the way the HTTPRoute
// CRD's CEL duration() does (components summed); ok is false for anything
// that is not one.
func parseGatewayDuration(v any) (time.Duration, bool) {
	s, isString := v.(string)
	if !isString || !gatewayDurationRE.MatchString(s) {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
