// Package httpmedia reads media that Kazoo's kz_att_http handler stored on a web server: the
// handler's payload is {"url": "<where it was PUT or POSTed>"} (plus "base64_encode_data" when
// the storage asked for it), and the audio is read back with a GET of that URL, as Kazoo 4.2
// does (4.3 re-derives the path from the current storage plan, which only works while the
// plan is unchanged).
package httpmedia

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/netguard"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Handler is the Kazoo module whose media this package reads.
const Handler = "kz_att_http"

// Source reads kz_att_http media.
type Source struct {
	client    *http.Client
	deleter   *http.Client // client, but never turning a DELETE into a GET on a redirect
	timeouts  media.Timeouts
	allowed   []string       // AllowHosts's well-formed patterns; none (nor malformed ones): any host
	malformed []string       // AllowHosts's patterns netguard cannot read
	hosts     netguard.Rules // allowed, parsed
}

// New returns a Source; a nil client gets one bounded by the timeouts
// (media.NewHTTPClient). Redirects are followed (ten at most, as Kazoo).
func New(t media.Timeouts, client *http.Client, opts ...Option) *Source {
	t = t.WithDefaults()
	if client == nil {
		client = media.NewHTTPClient(t)
	}
	s := &Source{timeouts: t}
	for _, o := range opts {
		o(s)
	}
	if s.restricted() {
		client = s.guardRedirects(client)
	}
	s.client, s.deleter = client, keepDelete(client)
	return s
}

// url is the payload's URL, if its host is allowed.
func (s *Source) url(att media.Attachment) (*url.URL, error) {
	u, err := target(att)
	if err != nil {
		return nil, err
	}
	return u, s.checkHost(u)
}

// keepDelete is a copy of c that follows a DELETE's redirect only when it stays a DELETE
// (307, 308): Go turns it into a GET on 301, 302 and 303, whose 200 would pass for a deletion.
// The redirect is then the answer, and an error.
func keepDelete(c *http.Client) *http.Client {
	d := *c
	next := c.CheckRedirect
	d.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if via[0].Method == http.MethodDelete && req.Method != http.MethodDelete {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &d
}

// target is the payload's URL. Errors: Invalid when there is no absolute http(s) URL.
func target(att media.Attachment) (*url.URL, error) {
	raw := media.Text(att.Payload, "url")
	if raw == "" {
		return nil, &media.Error{Kind: media.Invalid, Handler: Handler, Reason: "missing_url",
			Err: errors.New("the kz_att_http payload has no url")}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself may hold a password: it stays out of the message.
		return nil, &media.Error{Kind: media.Invalid, Handler: Handler, Reason: "bad_url",
			Err: errors.New("the kz_att_http payload's url is not an absolute http(s) URL")}
	}
	return u, nil
}

// Redact is u without user, password, query or fragment: what may be logged.
func Redact(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// Locate is the URL without credentials or query string.
func (s *Source) Locate(att media.Attachment) (string, error) {
	u, err := target(att)
	if err != nil {
		return "", err
	}
	return Redact(u), nil
}

// Stat asks with HEAD. A server that does not answer HEAD (405, 501) leaves the size unknown.
func (s *Source) Stat(ctx context.Context, att media.Attachment) (media.Info, error) {
	u, err := s.url(att)
	if err != nil {
		return media.Info{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeouts.Request)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return media.Info{}, failure(err, u)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.client.Do(req)
	if err != nil {
		return media.Info{}, failure(err, u)
	}
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return media.Info{Size: resp.ContentLength}, nil
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return media.Info{Size: -1}, nil
	default:
		return media.Info{}, statusError(resp, u)
	}
}

// Open GETs the URL, forwarding the range; a server that answers a range with the whole
// object (200) is skipped forward and cut short.
func (s *Source) Open(ctx context.Context, att media.Attachment, rng *recording.Range) (io.ReadCloser, error) {
	u, err := s.url(att)
	if err != nil {
		return nil, err
	}
	body, err := media.Guard(ctx, s.timeouts, func(ctx context.Context) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		if rng != nil {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
			_ = resp.Body.Close()
			return nil, statusError(resp, u)
		}
		if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("media sent with Content-Encoding %q despite Accept-Encoding: identity", enc)
		}
		r, err := media.Fit(resp.Body, media.Answer{
			Partial:       resp.StatusCode == http.StatusPartialContent,
			ContentRange:  resp.Header.Get("Content-Range"),
			ContentLength: resp.ContentLength,
		}, rng, att.Length)
		if err != nil {
			_ = resp.Body.Close()
			return nil, err
		}
		return media.ReadCloser(r, resp.Body), nil
	})
	if err != nil {
		return nil, failure(err, u)
	}
	return body, nil
}

// Delete sends DELETE to the URL. 200, 202 and 204 are a deletion; 404 and 410 an object
// already gone.
func (s *Source) Delete(ctx context.Context, att media.Attachment) error {
	u, err := s.url(att)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeouts.Request)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
	if err != nil {
		return failure(err, u)
	}
	resp, err := s.deleter.Do(req)
	if err != nil {
		return failure(err, u)
	}
	// Drained (a little) so that the connection can be reused; the deadline bounds it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent, http.StatusNotFound, http.StatusGone:
		return nil
	default:
		return statusError(resp, u)
	}
}

// statusError is the Unreachable error for a provider's answer other than the expected ones.
func statusError(resp *http.Response, u *url.URL) *media.Error {
	return &media.Error{Kind: media.Unreachable, Handler: Handler,
		Reason: fmt.Sprintf("provider_status_%d", resp.StatusCode),
		Err:    fmt.Errorf("%s %s answered %s", resp.Request.Method, Redact(u), resp.Status)}
}

// failure classifies err, with the URL's credentials and query string taken out of it.
func failure(err error, u *url.URL) error {
	var se *media.Error
	if errors.As(err, &se) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(u)
	}
	secrets := []string{u.RawQuery}
	if u.User != nil {
		pw, _ := u.User.Password()
		secrets = append(secrets, u.User.String(), pw)
	}
	return media.Failure(Handler, err, secrets...)
}
