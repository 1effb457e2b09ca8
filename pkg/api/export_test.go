package api

import (
	"net/http"
	"sort"

	"github.com/gorilla/mux"
	"go.uber.org/zap"
)

// Route is one registered path template and the methods it serves; DeclaresActions is false for a
// route outside the policy (operations endpoints, the page).
type Route struct {
	Template        string
	Methods         []string
	DeclaresActions bool
}

// Routes walks the router NewServer serves, so a test can reach every route it registers.
func Routes(cfg Config) ([]Route, error) {
	s := newServer(zap.NewNop(), cfg, nil, nil)
	var out []Route
	err := s.router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil || route.GetHandler() == nil {
			return nil // a subrouter's prefix, not a route
		}
		rt := Route{Template: tmpl}
		if m, ok := route.GetHandler().(methods); ok {
			rt.DeclaresActions = true
			for method, e := range m {
				if e.action == "" {
					rt.DeclaresActions = false
				}
				rt.Methods = append(rt.Methods, method)
			}
			sort.Strings(rt.Methods)
		} else {
			rt.Methods = []string{http.MethodGet}
		}
		out = append(out, rt)
		return nil
	})
	return out, err
}
