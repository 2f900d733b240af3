package evidence

import (
	"fmt"
	"slices"
	"strings"
	"unique"
)

// Ingress controllers merge every Ingress of one host (and class) into one
// virtual server, and a request goes to the longest matching path, whichever
// Ingress it comes from (ingress-nginx builds one server per host from all
// Ingresses; the Ingress API's own rule for overlapping paths). So a
// catch-all route whose WebSocket evidence is only its backend (a Service
// port) does not serve the WebSocket paths when another Ingress of the same
// host routes them by name (/socket.io, /ws): the per-route rules and the
// defaults that change how requests are balanced judge that other Ingress,
// and this route's item is dropped (Evidence.ServedElsewhere says why).

// HostIndex is the cross-Ingress part of an Index.
type HostIndex interface {
	// HostWebSocketRoutes are the routes of other Ingresses (not ingress,
	// namespace/name) of class and host whose own path names them
	// WebSocket routes, sorted.
	HostWebSocketRoutes(class, host, ingress string) []HostRoute
}

// HostRoute is one Ingress path that is WebSocket by its name.
type HostRoute struct {
	// Ingress is namespace/name; Field the path's field path.
	Ingress, Field string
	Path           string
	// Reason is the path's evidence ("path segment socket.io").
	Reason string
}

func (r HostRoute) String() string {
	return fmt.Sprintf("Ingress %s %s (path %s, %s)", r.Ingress, r.Field, r.Path, r.Reason)
}

// hostEntry is one of an Ingress's WebSocket paths by host, as the Ingress's
// Entry computes it; hostRecord is how the Set keeps it under its key.
type hostEntry struct {
	key string // class + "\x00" + host
	hostRecord
}

// hostRecord is a HostRoute as the Set keeps it, compact like its other
// entries (index.go): the Ingress's namespace/name is the tail of owner,
// and the path, field path and reason, which repeat across Ingresses, are
// interned.
type hostRecord struct {
	owner  string // the Ingress's object key ("Kind.group namespace/name")
	path   unique.Handle[string]
	field  unique.Handle[string]
	reason unique.Handle[string]
}

// ingress is the Ingress's namespace/name.
func (h hostRecord) ingress() string {
	_, nsName, _ := strings.Cut(h.owner, " ")
	return nsName
}

func (h hostRecord) route() HostRoute {
	return HostRoute{Ingress: h.ingress(), Field: h.field.Value(), Path: h.path.Value(), Reason: h.reason.Value()}
}

// ingressClassName is the class an Ingress names: spec.ingressClassName,
// else the legacy annotation ("" for neither: the default class).
func ingressClassName(o object) string {
	if c, _ := o.spec["ingressClassName"].(string); c != "" {
		return c
	}
	return o.annotations["kubernetes.io/ingress.class"]
}

// ingressHosts lists each Ingress path with its host (lower case, "" for a
// host-less rule) and pathType.
func ingressHosts(spec map[string]any) map[string]struct{ host, pathType string } {
	out := map[string]struct{ host, pathType string }{}
	rules, _ := spec["rules"].([]any)
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		host, _ := rule["host"].(string)
		http, _ := rule["http"].(map[string]any)
		paths, _ := http["paths"].([]any)
		for j, p := range paths {
			path, _ := p.(map[string]any)
			pt, _ := path["pathType"].(string)
			out[fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)] = struct{ host, pathType string }{strings.ToLower(host), pt}
		}
	}
	return out
}

// hostEntries are the paths of an Ingress that are WebSocket by their own
// name, for the index.
func hostEntries(o object) []hostEntry {
	if strings.EqualFold(strings.TrimSpace(o.annotations[Annotation]), "false") {
		return nil
	}
	class := ingressClassName(o)
	hosts := ingressHosts(o.spec)
	var out []hostEntry
	for _, b := range IngressBackends(o.spec) {
		h, ok := hosts[b.Field]
		if !ok {
			continue
		}
		if seg := PathSegment(b.Path); seg != "" {
			out = append(out, hostEntry{key: class + "\x00" + h.host, hostRecord: hostRecord{
				path: unique.Make(b.Path), field: unique.Make(b.Field), reason: unique.Make("path segment " + seg)}})
		}
	}
	return out
}

// servedElsewhere drops the items of an Ingress whose evidence is not their
// own path name and whose WebSocket paths another Ingress of the same host
// and class serves by a longer match; it records why in e.ServedElsewhere.
func servedElsewhere(o object, idx Index, e *Evidence) {
	hi, ok := idx.(HostIndex)
	if !ok || len(e.Items) == 0 {
		return
	}
	class := ingressClassName(o)
	hosts := ingressHosts(o.spec)
	paths := map[string]string{}
	for _, b := range IngressBackends(o.spec) {
		paths[b.Field] = b.Path
	}
	self := o.namespace + "/" + o.name
	kept := e.Items[:0]
	for _, it := range e.Items {
		h, isPath := hosts[it.Field]
		if !isPath || h.pathType == "Exact" || PathSegment(paths[it.Field]) != "" || it.Reason == explicitReason {
			kept = append(kept, it)
			continue
		}
		var longer []HostRoute
		for _, r := range hi.HostWebSocketRoutes(class, h.host, self) {
			if longerMatch(paths[it.Field], r.Path) {
				longer = append(longer, r)
			}
		}
		if len(longer) == 0 {
			kept = append(kept, it)
			continue
		}
		if e.ServedElsewhere == nil {
			e.ServedElsewhere = map[string]string{}
		}
		e.ServedElsewhere[it.Field] = fmt.Sprintf("%s: its WebSocket paths are served by %s, the longer match on host %q",
			it, longer[0], h.host)
	}
	e.Items = kept
}

// longerMatch reports whether a request to other's path is matched by the
// prefix path too, and other is the longer (so the more specific) match:
// "/" and "" match everything; otherwise element-wise, as Prefix paths are.
func longerMatch(path, other string) bool {
	p := strings.TrimSuffix(path, "/")
	o := strings.TrimSuffix(other, "/")
	if len(o) <= len(p) {
		return false
	}
	return p == "" || strings.HasPrefix(o, p+"/")
}

var _ HostIndex = (*Set)(nil)

// HostWebSocketRoutes implements HostIndex.
func (s *Set) HostWebSocketRoutes(class, host, ingress string) []HostRoute {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []HostRoute
	for _, r := range s.hosts[class+"\x00"+strings.ToLower(host)] {
		if r.ingress() != ingress {
			out = append(out, r.route())
		}
	}
	slices.SortFunc(out, func(a, b HostRoute) int {
		return strings.Compare(a.Ingress+" "+a.Field, b.Ingress+" "+b.Field)
	})
	return out
}

// putHosts records an Ingress's WebSocket paths by host; s.mu is held.
// The Ingress's hosts keys are kept as one string, joined by hostsSep
// (almost every Ingress has one: the key itself, no slice).
func (s *Set) putHosts(owner string, entries []hostEntry) {
	keys := ""
	for _, h := range entries {
		h.owner = owner
		s.hosts[h.key] = append(s.hosts[h.key], h.hostRecord)
		switch {
		case keys == "":
			keys = h.key
		case !slices.Contains(strings.Split(keys, hostsSep), h.key):
			keys += hostsSep + h.key
		}
	}
	if keys != "" {
		s.hostsOf[owner] = keys
	}
}

// hostsSep joins an Ingress's hosts keys: neither a class nor a host
// name holds it.
const hostsSep = "\x01"

// forgetHosts drops what Ingress owner said; s.mu is held.
func (s *Set) forgetHosts(owner string) {
	keys, ok := s.hostsOf[owner]
	if !ok {
		return
	}
	for key := range strings.SplitSeq(keys, hostsSep) {
		kept := slices.DeleteFunc(s.hosts[key], func(h hostRecord) bool { return h.owner == owner })
		if len(kept) == 0 {
			delete(s.hosts, key)
		} else {
			s.hosts[key] = kept
		}
	}
	delete(s.hostsOf, owner)
}
