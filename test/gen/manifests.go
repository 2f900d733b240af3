package gen

import "slices"

// ClusterObjects are the objects the generated ones assume a cluster
// holds, as manifests: the Namespaces (OptedIn labelled
// ws-defaults=enabled, Plain not) and the IngressClasses.
func ClusterObjects() []map[string]any {
	out := []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": OptedIn, "labels": map[string]any{"ws-defaults": "enabled"}}},
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": Plain}},
	}
	classes := make([]string, 0, len(IngressClasses))
	for name := range IngressClasses {
		classes = append(classes, name)
	}
	slices.Sort(classes)
	for _, name := range classes {
		out = append(out, map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"controller": IngressClasses[name]}})
	}
	return out
}

// Manifests returns n objects numbered from first, as a repository holds
// them, for `webhook check` (make bench-check, the check's differential
// test): the objects of Objects without what the API server and kubectl
// add (uid, resourceVersion, generation, creationTimestamp, managedFields,
// the last-applied and revision annotations) and, unless withStatus,
// without status. Calls with distinct ranges give distinct objects.
func Manifests(seed uint64, first, n int, withStatus bool) []map[string]any {
	out := make([]map[string]any, 0, n)
	for _, o := range objects(seed^uint64(first), first, n) {
		obj := o.Object
		md := obj["metadata"].(map[string]any)
		for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"} {
			delete(md, k)
		}
		ann := md["annotations"].(map[string]any)
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		delete(ann, "deployment.kubernetes.io/revision")
		if !withStatus {
			delete(obj, "status")
		}
		out = append(out, obj)
	}
	return out
}
