// Package cluster is what the admission pipeline reads from the cluster:
// the IngressClasses, and a namespace's labels and annotations. In `webhook
// serve` these come from the manager's informer cache (with a read from the
// API server when a namespace is not in the cache yet); offline (`webhook
// check`, tests) from a fixed Snapshot. The policy is not read here: it is
// applied by generation (package policy).
package cluster

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// Reader is the cluster as the pipeline sees it.
type Reader interface {
	IngressClasses(ctx context.Context) ([]ingressclass.Class, error)
	// Namespace returns a namespace's labels and annotations; both are nil
	// when the namespace is unknown.
	Namespace(ctx context.Context, name string) (labels, annotations map[string]string, err error)
}

// Snapshot is a fixed Reader.
type Snapshot struct {
	Classes    []ingressclass.Class
	Namespaces map[string]metav1.ObjectMeta
	// Unlisted, when set, stands for every namespace not in Namespaces
	// (`webhook check` treats those as enabled); nil means such a namespace
	// does not exist.
	Unlisted *metav1.ObjectMeta
}

var _ Reader = (*Snapshot)(nil)

func (s *Snapshot) IngressClasses(context.Context) ([]ingressclass.Class, error) {
	return s.Classes, nil
}

func (s *Snapshot) Namespace(_ context.Context, name string) (map[string]string, map[string]string, error) {
	ns, ok := s.Namespaces[name]
	if !ok && s.Unlisted != nil {
		ns = *s.Unlisted
	}
	return ns.Labels, ns.Annotations, nil
}

// Cached reads from a controller-runtime cache. Namespaces are read as
// metadata only, so the cache holds no more of them than it needs.
type Cached struct {
	Client client.Reader
	// APIReader reads from the API server directly. A namespace missing
	// from the cache (created a moment ago, its watch event still on the
	// way) is read through it, as Gatekeeper does, so its objects are not
	// judged "not opted in" by accident. Nil means the cache is trusted.
	APIReader client.Reader
}

var _ Reader = (*Cached)(nil)

// NamespaceGVK is the kind the cache watches namespaces as (metadata only).
var NamespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

func (c *Cached) IngressClasses(ctx context.Context) ([]ingressclass.Class, error) {
	var list networkingv1.IngressClassList
	if err := c.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing IngressClasses: %w", err)
	}
	out := make([]ingressclass.Class, 0, len(list.Items))
	for _, ic := range list.Items {
		out = append(out, ingressclass.Class{
			Name:       ic.Name,
			Controller: ic.Spec.Controller,
			Default:    ic.Annotations[ingressclass.DefaultClassAnnotation] == "true",
		})
	}
	return out, nil
}

func (c *Cached) Namespace(ctx context.Context, name string) (map[string]string, map[string]string, error) {
	if name == "" {
		return nil, nil, nil
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(NamespaceGVK)
	err := c.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	if apierrors.IsNotFound(err) && c.APIReader != nil {
		err = c.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return ns.Labels, ns.Annotations, nil
}
