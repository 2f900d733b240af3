package floor

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func TestMain(m *testing.M) {
	if p := os.Getenv(PortEnv); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := Serve(ctx, port, os.Getenv(CertDirEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestHandler(t *testing.T) {
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Update,
		Object: runtime.RawExtension{Raw: []byte(`{"kind":"Service"}`)}, OldObject: runtime.RawExtension{Raw: []byte(`{"kind":"Service"}`)}}}
	if r := (Handler{}).Handle(context.Background(), req); !r.Allowed {
		t.Errorf("FLOOR must allow: %+v", r.Result)
	}
	req.Object.Raw = []byte(`[`)
	if r := (Handler{}).Handle(context.Background(), req); r.Allowed {
		t.Error("FLOOR must decode the object, and so refuse what is not JSON")
	}
}
