package webhooks_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// A receiver that fails three times, then answers 200, gets the event four times with one
// event_id and a signature that verifies, and then never again.
func TestRetriedUntilAccepted(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		rc := newEndpoint(t, func(n int, d delivery) int {
			if n < 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		hook := r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL + "/hook", "custom_data": map[string]any{"crm": "x1"}})
		r.instance("a", nil)
		r.live()
		id := r.record(r.customer)
		waitFor(t, 30*time.Second, "the delivery accepted", func() bool { return len(rc.createdFor(id)) == 1 })
		time.Sleep(300 * time.Millisecond) // a wrong redelivery would come within this

		got := rc.deliveries()
		if len(got) != 4 {
			t.Fatalf("receiver got %d requests, want 4 (3 failures, 1 success)", len(got))
		}
		for i, d := range got {
			if d.EventID != got[0].EventID || d.Event != string(events.Created) {
				t.Errorf("request %d: event %s id %s, want %s of the first", i, d.Event, d.EventID, got[0].EventID)
			}
			if err := webhooks.Verify(hook.Secret, d.Signature, d.Body, time.Now(), time.Minute); err != nil {
				t.Errorf("request %d: signature %q does not verify: %v", i, d.Signature, err)
			}
			if d.Payload["event_id"] != d.EventID || d.Payload["account_id"] != r.customer || d.Payload["recording_id"] != id {
				t.Errorf("request %d: payload %v", i, d.Payload)
			}
			if cd, _ := d.Payload["custom_data"].(map[string]any); cd["crm"] != "x1" {
				t.Errorf("request %d: custom_data %v", i, d.Payload["custom_data"])
			}
		}
		if err := webhooks.Verify("another secret of length", got[0].Signature, got[0].Body, time.Now(), time.Minute); err == nil {
			t.Error("a signature verifies with another secret")
		}

		_, delivery, err := r.registry.Get(context.Background(), r.customer, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		attempts, _ := delivery["attempts"].([]webhooks.Attempt)
		if delivery["delivered"] != int64(1) || delivery["consecutive_failures"] != 0 || len(attempts) != 4 {
			t.Fatalf("delivery state %v", delivery)
		}
		if attempts[0].Status != 200 || attempts[0].Error != "" || attempts[1].Status != 500 || attempts[1].Error != "http_500" {
			t.Errorf("attempts, newest first: %+v", attempts)
		}
	})
}

// Events go to the webhooks of their own account, and to a reseller's only when it asked
// for its subaccounts; a webhook hears only the events it names.
func TestWhoHearsWhat(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		own, parentAll, parentOwn, deletesOnly := newEndpoint(t, nil), newEndpoint(t, nil), newEndpoint(t, nil), newEndpoint(t, nil)
		r.create(r.customer, map[string]any{"name": "own", "uri": own.URL})
		r.create(r.reseller, map[string]any{"name": "all", "uri": parentAll.URL, "include_subaccounts": true})
		r.create(r.reseller, map[string]any{"name": "own only", "uri": parentOwn.URL})
		r.create(r.customer, map[string]any{"name": "deletes", "uri": deletesOnly.URL, "events": []any{"recording.deleted"}})
		r.instance("a", nil)
		r.live()
		inCustomer, inReseller := r.record(r.customer), r.record(r.reseller)
		waitFor(t, 30*time.Second, "every delivery", func() bool {
			return len(own.createdFor(inCustomer)) == 1 && len(parentAll.createdFor(inCustomer)) == 1 &&
				len(parentAll.createdFor(inReseller)) == 1 && len(parentOwn.createdFor(inReseller)) == 1
		})
		time.Sleep(300 * time.Millisecond)
		if n := len(own.createdFor(inReseller)); n != 0 {
			t.Errorf("the customer's webhook heard its parent's recording %d times", n)
		}
		if n := len(parentOwn.createdFor(inCustomer)); n != 0 {
			t.Errorf("a reseller webhook without include_subaccounts heard a customer's recording %d times", n)
		}
		if got := deletesOnly.deliveries(); len(got) != 0 {
			t.Errorf("a webhook for recording.deleted got %d deliveries of other events", len(got))
		}
	})
}

// Deliveries wait while no instance runs, and come once it is back: nothing lost, nothing twice.
func TestRestartLosesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		rc := newEndpoint(t, nil)
		r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL})
		stop := r.instance("a", nil)
		r.live()
		first := r.record(r.customer)
		waitFor(t, 30*time.Second, "the first delivery", func() bool { return len(rc.createdFor(first)) == 1 })
		stop()

		// written while nothing delivers: the feed's checkpoint and the webhook's place in
		// the log keep them
		var later []string
		for range 3 {
			later = append(later, r.record(r.customer))
		}
		r.instance("b", nil)
		waitFor(t, 60*time.Second, "the deliveries after the restart", func() bool { return rc.gotAll(later...) })
		time.Sleep(300 * time.Millisecond)
		rc.acceptedOnce(t)
	})
}

// Two instances on one database: one delivers; when it is killed, the other takes over, and
// no event is accepted twice.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		rc := newEndpoint(t, nil)
		r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL})
		stopA := r.instance("a", nil)
		r.live()
		r.instance("b", nil)
		var ids []string
		for range 5 {
			ids = append(ids, r.record(r.customer))
		}
		all := func() bool { return rc.gotAll(ids...) }
		waitFor(t, 30*time.Second, "the first five", all)
		time.Sleep(200 * time.Millisecond)
		stopA() // a stops leading; b takes the lease within its time
		for range 5 {
			ids = append(ids, r.record(r.customer))
		}
		waitFor(t, 60*time.Second, "the five after the takeover", all)
		time.Sleep(500 * time.Millisecond)
		rc.acceptedOnce(t)
	})
}

// A webhook that keeps failing is disabled, says why, and hears nothing more; enabled
// again, it gets the event it was failing on, then the rest.
func TestDisabledAfterFailures(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		var failing atomic.Bool
		failing.Store(true)
		rc := newEndpoint(t, func(n int, d delivery) int {
			if failing.Load() {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		hook := r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL})
		poster := r.sender
		cfg := testConfig(r.db)
		cfg.DisableAfterFailures, cfg.DisableAfter = 3, 0
		tail := r.runTail()
		d, err := webhooks.NewDispatcher(r.store, tail, poster, cfg, zaptest.NewLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := events.NewWatcher(r.store, events.Config{DB: r.db, Retention: time.Hour, Lease: testLease, Instance: "a",
			WhileLeading: d.Run, KeepFrom: d.KeepFrom, MaxBacklog: time.Hour}, zaptest.NewLogger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go w.Run(ctx)
		r.live()
		id := r.record(r.customer)
		waitFor(t, 30*time.Second, "the webhook disabled", func() bool {
			h, _, err := r.registry.Get(context.Background(), r.customer, hook.ID)
			return err == nil && !h.Enabled && h.Disabled != nil
		})
		h, _, _ := r.registry.Get(context.Background(), r.customer, hook.ID)
		if want := "disabled after 3 consecutive failed deliveries"; len(h.Disabled.Reason) < len(want) || h.Disabled.Reason[:len(want)] != want {
			t.Errorf("reason %q", h.Disabled.Reason)
		}
		tries := len(rc.deliveries())
		second := r.record(r.customer)
		time.Sleep(500 * time.Millisecond)
		if n := len(rc.deliveries()); n != tries {
			t.Fatalf("a disabled webhook got %d more requests", n-tries)
		}

		failing.Store(false)
		if _, err := r.registry.Update(context.Background(), r.customer, hook.ID, map[string]any{"enabled": true}, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "both recordings delivered after enabling", func() bool {
			return len(rc.createdFor(id)) == 1 && len(rc.createdFor(second)) == 1
		})
		h, delivery, _ := r.registry.Get(context.Background(), r.customer, hook.ID)
		if !h.Enabled || h.Disabled != nil || delivery["consecutive_failures"] != 0 {
			t.Errorf("after enabling: enabled %v, disabled %v, state %v", h.Enabled, h.Disabled, delivery)
		}
	})
}

// A webhook pointing at a host the service may not call is never called: refused when
// created, and refused at delivery when the rules changed since.
func TestDisallowedHostNeverCalled(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		rc := newEndpoint(t, nil)
		strict, err := webhooks.NewSender(webhooks.SenderConfig{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = webhooks.NewRegistry(r.store, r.db, r.tail, strict, nil).Create(context.Background(), r.customer,
			map[string]any{"name": "internal", "uri": rc.URL})
		if err == nil {
			t.Fatal("a webhook on 127.0.0.1 was created without 127.0.0.1 in the allowed hosts")
		}
		hook := r.create(r.customer, map[string]any{"name": "allowed then", "uri": rc.URL})
		r.instance("a", strict) // the instance that delivers does not allow it
		r.live()
		r.record(r.customer)
		waitFor(t, 30*time.Second, "a refused attempt", func() bool {
			_, d, err := r.registry.Get(context.Background(), r.customer, hook.ID)
			a, _ := d["attempts"].([]webhooks.Attempt)
			return err == nil && len(a) > 0
		})
		_, d, _ := r.registry.Get(context.Background(), r.customer, hook.ID)
		if a := d["attempts"].([]webhooks.Attempt); a[0].Error != "host_not_allowed" {
			t.Errorf("attempt %+v, want host_not_allowed", a[0])
		}
		if n := len(rc.deliveries()); n != 0 {
			t.Errorf("the receiver on a disallowed host got %d requests", n)
		}
	})
}
