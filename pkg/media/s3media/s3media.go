// Package s3media reads media that Kazoo's kz_att_s3 handler stored in an S3 bucket (AWS or
// any S3-speaking server), with the AWS SDK for Go v2. Where the object is, and with which key
// pair, comes from the document's payload (see ParseLocation); the configuration may override
// the endpoint, region and addressing, and override or replace the credentials.
package s3media

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Handler is the Kazoo module whose media this package reads.
const Handler = "kz_att_s3"

// Where the key pair comes from (storage.s3.credentials).
const (
	// CredentialsDocument uses the pair stored in each document; the configured pair, when
	// set, is used for documents that hold none.
	CredentialsDocument = "document"
	// CredentialsConfig uses the configured pair for every object; documents' pairs are ignored.
	CredentialsConfig = "config"
	// CredentialsDefaultChain uses the AWS SDK's default chain (environment, shared files,
	// container or instance role); documents' pairs are ignored.
	CredentialsDefaultChain = "default_chain"
)

// Config is storage.s3.* plus the shared timeouts. Zero values keep what the documents say.
type Config struct {
	Timeouts        media.Timeouts
	Credentials     string // CredentialsDocument (default), CredentialsConfig or CredentialsDefaultChain
	AccessKeyID     string
	SecretAccessKey string
	// Endpoint replaces the documents' scheme://host:port (a bucket moved, a proxy, a test).
	Endpoint string
	// Region replaces the documents' region (SigV4 signs with it; default us-east-1).
	Region string
	// BucketAccessMethod replaces the documents' addressing: path, vhost or auto.
	BucketAccessMethod string
	// HTTPClient reaches the providers; nil: media.NewHTTPClient(Timeouts).
	HTTPClient *http.Client
}

// Validate checks the configuration without reaching anything.
func (c Config) Validate() error {
	switch c.Credentials {
	case "", CredentialsDocument, CredentialsDefaultChain:
	case CredentialsConfig:
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return errors.New("storage.s3.credentials is config but storage.s3.access_key_id or secret_access_key is empty")
		}
	default:
		return fmt.Errorf("storage.s3.credentials must be document, config or default_chain, not %q", c.Credentials)
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return errors.New("storage.s3.access_key_id and storage.s3.secret_access_key go together")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return errors.New("storage.s3.endpoint must be an http(s)://host[:port] URL without credentials")
		}
	}
	switch c.BucketAccessMethod {
	case "", "path", "vhost", "auto":
	default:
		return fmt.Errorf("storage.s3.bucket_access_method must be path, vhost or auto, not %q", c.BucketAccessMethod)
	}
	return nil
}

// Source reads kz_att_s3 media.
type Source struct {
	cfg   Config
	http  *http.Client
	chain aws.CredentialsProvider // CredentialsDefaultChain only

	mu      sync.Mutex
	clients map[clientKey]*s3.Client
}

// New checks cfg and, for the default chain, loads the AWS shared configuration (no
// credentials are fetched until the first request).
func New(ctx context.Context, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Credentials == "" {
		cfg.Credentials = CredentialsDocument
	}
	cfg.Timeouts = cfg.Timeouts.WithDefaults()
	s := &Source{cfg: cfg, http: cfg.HTTPClient, clients: map[clientKey]*s3.Client{}}
	if s.http == nil {
		s.http = media.NewHTTPClient(cfg.Timeouts)
	}
	if cfg.Credentials == CredentialsDefaultChain {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("storage.s3.credentials default_chain: %w", err)
		}
		s.chain = awsCfg.Credentials
	}
	return s, nil
}

// target is how to reach one object: the document's location with the configuration over it.
type target struct {
	loc      Location
	endpoint string // "" for AWS's own endpoint of the region
	region   string
	path     bool
	keyID    string
	secret   string
}

func (t target) secrets() []string { return []string{t.keyID, t.secret} }

func (s *Source) target(att media.Attachment) (target, error) {
	loc, err := ParseLocation(att)
	if err != nil {
		return target{}, err
	}
	t := target{loc: loc, region: s.cfg.Region, endpoint: s.cfg.Endpoint}
	if t.region == "" {
		t.region = loc.Region
	}
	if t.region == "" {
		t.region = regionOfHost(loc.Host)
	}
	if t.endpoint == "" && !isAWSHost(loc) {
		t.endpoint = loc.Scheme + "://" + net.JoinHostPort(loc.Host, strconv.Itoa(loc.Port))
		if (loc.Scheme == "https" && loc.Port == 443) || (loc.Scheme == "http" && loc.Port == 80) {
			t.endpoint = loc.Scheme + "://" + hostForURL(loc.Host)
		}
	}
	method := s.cfg.BucketAccessMethod
	if method == "" {
		method = loc.AccessMethod
	}
	t.path = method == "path" || (method != "vhost" && !dnsCompatible(loc.Bucket))
	switch s.cfg.Credentials {
	case CredentialsConfig:
		t.keyID, t.secret = s.cfg.AccessKeyID, s.cfg.SecretAccessKey
	case CredentialsDocument:
		t.keyID, t.secret = loc.AccessKeyID, loc.SecretAccessKey
		if t.keyID == "" || t.secret == "" {
			t.keyID, t.secret = s.cfg.AccessKeyID, s.cfg.SecretAccessKey
		}
		if t.keyID == "" || t.secret == "" {
			return target{}, invalid("missing_credentials", errors.New("the kz_att_s3 payload holds no key pair and storage.s3 has none"))
		}
	}
	return t, nil
}

// Locate is s3://bucket/key, and the endpoint when it is not AWS's.
func (s *Source) Locate(att media.Attachment) (string, error) {
	t, err := s.target(att)
	if err != nil {
		return "", err
	}
	out := "s3://" + t.loc.Bucket + "/" + t.loc.Key
	if t.endpoint != "" {
		out += " at " + t.endpoint
	}
	return out, nil
}

// Stat is HeadObject.
func (s *Source) Stat(ctx context.Context, att media.Attachment) (media.Info, error) {
	t, err := s.target(att)
	if err != nil {
		return media.Info{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Request)
	defer cancel()
	out, err := s.client(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.loc.Bucket), Key: aws.String(t.loc.Key)})
	if err != nil {
		return media.Info{}, failure(err, t)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	return media.Info{Size: size}, nil
}

// Open is GetObject, with the range forwarded.
func (s *Source) Open(ctx context.Context, att media.Attachment, rng *recording.Range) (io.ReadCloser, error) {
	t, err := s.target(att)
	if err != nil {
		return nil, err
	}
	client := s.client(t)
	body, err := media.Guard(ctx, s.cfg.Timeouts, func(ctx context.Context) (io.ReadCloser, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(t.loc.Bucket), Key: aws.String(t.loc.Key)}
		if rng != nil {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
		}
		out, err := client.GetObject(ctx, in)
		if err != nil {
			return nil, err
		}
		length := int64(-1)
		if out.ContentLength != nil {
			length = *out.ContentLength
		}
		contentRange := aws.ToString(out.ContentRange)
		r, err := media.Fit(out.Body, media.Answer{Partial: contentRange != "", ContentRange: contentRange, ContentLength: length}, rng, att.Length)
		if err != nil {
			_ = out.Body.Close()
			return nil, err
		}
		return media.ReadCloser(r, out.Body), nil
	})
	if err != nil {
		return nil, failure(err, t)
	}
	return body, nil
}

// Delete is DeleteObject. S3 answers 204 for a missing key, some S3-speaking servers 404
// NoSuchKey: both are a deletion. A missing bucket (NoSuchBucket) stays an error: deleting an
// object never removes its bucket, so it means the location is wrong, not that a sweep ran.
func (s *Source) Delete(ctx context.Context, att media.Attachment) error {
	t, err := s.target(att)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Request)
	defer cancel()
	_, err = s.client(t).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.loc.Bucket), Key: aws.String(t.loc.Key)})
	if err != nil && !gone(err) {
		return failure(err, t)
	}
	return nil
}

// gone: the provider says there is no such key.
func gone(err error) bool {
	var coded interface{ ErrorCode() string } // smithy.APIError
	if errors.As(err, &coded) {
		switch coded.ErrorCode() {
		case "NoSuchKey":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// failure classifies an SDK error: the provider's HTTP status when it answered.
func failure(err error, t target) error {
	var se *media.Error
	if errors.As(err, &se) {
		return err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 && !errors.Is(err, media.ErrSizeMismatch) {
		return &media.Error{Kind: media.Unreachable, Handler: Handler,
			Reason: fmt.Sprintf("provider_status_%d", re.HTTPStatusCode()), Err: media.Scrub(err, t.secrets()...)}
	}
	return media.Failure(Handler, err, t.secrets()...)
}

// clientKey identifies one configured S3 client; documents mostly share a few.
type clientKey struct {
	endpoint, region string
	path             bool
	keyID            string
	secretSum        [32]byte
}

// Clients kept at most; past it the cache starts over (a client is cheap to rebuild).
const maxClients = 256

func (s *Source) client(t target) *s3.Client {
	key := clientKey{endpoint: t.endpoint, region: t.region, path: t.path, keyID: t.keyID, secretSum: sha256.Sum256([]byte(t.secret))}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[key]; ok {
		return c
	}
	if len(s.clients) >= maxClients {
		s.clients = map[clientKey]*s3.Client{}
	}
	creds := s.chain
	if creds == nil {
		creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(t.keyID, t.secret, ""))
	}
	opts := s3.Options{
		Region:                     t.region,
		Credentials:                creds,
		HTTPClient:                 s.http,
		UsePathStyle:               t.path,
		RetryMaxAttempts:           3,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		// The bytes are streamed on as they come; a range cannot be checked anyway.
		ResponseChecksumValidation:                aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
	}
	if t.endpoint != "" {
		opts.BaseEndpoint = aws.String(t.endpoint)
	}
	c := s3.New(opts)
	s.clients[key] = c
	return c
}

// isAWSHost: the document points at AWS itself over HTTPS, whose endpoint the SDK resolves
// from the region (and so follows AWS's endpoint changes).
func isAWSHost(loc Location) bool {
	_, aws := awsRegionOfHost(loc.Host)
	return aws && loc.Scheme == "https" && loc.Port == 443
}

// regionOfHost is the region an AWS host names; us-east-1 for any other host.
func regionOfHost(host string) string {
	if r, ok := awsRegionOfHost(host); ok && r != "" {
		return r
	}
	return "us-east-1"
}

// awsRegionOfHost reads s3.amazonaws.com (no region), s3.<region>.amazonaws.com or
// s3-<region>.amazonaws.com.
func awsRegionOfHost(host string) (string, bool) {
	if host == amazonS3Host {
		return "", true
	}
	name, ok := strings.CutSuffix(host, ".amazonaws.com")
	if !ok {
		return "", false
	}
	for _, prefix := range []string{"s3.", "s3-"} {
		if r, ok := strings.CutPrefix(name, prefix); ok && r != "" && !strings.Contains(r, ".") {
			return r, true
		}
	}
	return "", false
}

// dnsCompatible is erlcloud's rule for auto addressing: a bucket name usable as a host label
// (dots excluded, which would break TLS wildcard certificates).
func dnsCompatible(bucket string) bool {
	if len(bucket) < 3 || len(bucket) > 63 {
		return false
	}
	for i := 0; i < len(bucket); i++ {
		c := bucket[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(bucket)-1:
		default:
			return false
		}
	}
	return true
}

// hostForURL brackets an IPv6 literal.
func hostForURL(host string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return "[" + host + "]"
	}
	return host
}
