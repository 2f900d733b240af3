package e2e

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestExplicitSessionAffinityNone: the API server defaults sessionAffinity
// to None before admission, so the webhook reads the request's
// managedFields to tell a user's None from the default. Through the real
// API server: a server-side apply that sets None keeps it; one that leaves
// it out, and a plain create (whose Update manager owns the defaulted
// field too), get ClientIP on the WebSocket port.
func TestExplicitSessionAffinityNone(t *testing.T) {
	namespace(t, "affinity-none", map[string]string{"ws-defaults": "enabled"})
	ctx := context.Background()
	apply := func(name, affinity string) *unstructured.Unstructured {
		t.Helper()
		doc := "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: affinity-none}\nspec:\n  selector: {app: chat}\n  ports:\n  - {name: ws, port: 8080}\n"
		if affinity != "" {
			doc += "  sessionAffinity: " + affinity + "\n"
		}
		u := object(doc)
		if err := cluster.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gitops"), client.ForceOwnership); err != nil {
			t.Fatalf("server-side apply %s: %v", name, err)
		}
		return stored(t, u)
	}
	affinityOf := func(u *unstructured.Unstructured) string {
		a, _, _ := unstructured.NestedString(u.Object, "spec", "sessionAffinity")
		return a
	}
	if a := affinityOf(apply("applied-none", "None")); a != "None" {
		t.Errorf("server-side apply with sessionAffinity None: stored %q, want the user's None", a)
	}
	if a := affinityOf(apply("applied-unset", "")); a != "ClientIP" {
		t.Errorf("server-side apply without sessionAffinity: stored %q, want ClientIP", a)
	}
	created := create(t, "apiVersion: v1\nkind: Service\nmetadata: {name: created, namespace: affinity-none}\nspec:\n  selector: {app: chat}\n  ports:\n  - {name: ws, port: 8080}\n")
	if a := affinityOf(created); a != "ClientIP" {
		t.Errorf("create without sessionAffinity: stored %q, want ClientIP", a)
	}
}
