package console_test

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation/policyfile"
)

// TestNotConfiguredBanner: while the policy can page nobody (as the
// package's example), every page says so at the top, in the operator's
// language; once a policy reaches a person the banner is gone.
func TestNotConfiguredBanner(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	if _, page := b.do("GET", "/", nil, nil); strings.Contains(page, "not-configured") {
		t.Error("a banner with a policy that pages tanaka")
	}

	nobody, err := policyfile.Load("policy.yaml", []byte(`contacts: []
services:
  - {id: tocsin, escalation_policy: main}
escalation_policies:
  - id: main
    levels:
      - after: 0s
        notify: [{zone: line1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	f.engine.SetPolicy(nobody)
	for _, path := range []string{"/", "/health", "/policy"} {
		if _, page := b.do("GET", path, nil, nil); !strings.Contains(page, "not configured: no contact can be paged") {
			t.Errorf("%s has no not-configured banner", path)
		}
	}
	b.lang = "ja"
	if _, page := b.do("GET", "/", nil, nil); !strings.Contains(page, "未設定: 呼び出せる連絡先がありません") {
		t.Error("the Japanese page has no not-configured banner")
	}
}
