// Command gitops-status prints how GitOps tools read the status of Kubernetes
// objects: for each object on stdin (a JSON object, a JSON array of objects or
// a List with items), one JSON line
//
//	{"name": ..., "kstatus": {"status": ..., "message": ...}, "argocd": {"status": ..., "message": ...}}
//
// "kstatus" is status.Compute of sigs.k8s.io/cli-utils/pkg/kstatus; "argocd" is
// present with --lua FILE and holds what the Argo CD health script FILE returns
// for the object, run by gopher-lua with the object as the global `obj`, as
// Argo CD runs resource.customizations.health scripts.
//
// Guarantees: exit 0 with one line per object in input order; exit 2 with a
// message naming the problem for unreadable input or a script that fails.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type line struct {
	Name    string  `json:"name"`
	Kstatus health  `json:"kstatus"`
	Argocd  *health `json:"argocd,omitempty"`
}

func main() {
	script := flag.String("lua", "", "an Argo CD health script to run on every object")
	flag.Parse()
	objects, err := readObjects()
	if err != nil {
		fail("stdin: %v", err)
	}
	var source string
	if *script != "" {
		text, err := os.ReadFile(*script)
		if err != nil {
			fail("%v", err)
		}
		source = string(text)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i, object := range objects {
		u := &unstructured.Unstructured{Object: object}
		result, err := status.Compute(u)
		if err != nil {
			fail("object %d (%s): kstatus: %v", i, u.GetName(), err)
		}
		l := line{Name: u.GetName(), Kstatus: health{Status: result.Status.String(), Message: result.Message}}
		if source != "" {
			h, err := runHealth(source, object)
			if err != nil {
				fail("object %d (%s): %s: %v", i, u.GetName(), *script, err)
			}
			l.Argocd = h
		}
		encoded, err := json.Marshal(l)
		if err != nil {
			fail("%v", err)
		}
		out.Write(append(encoded, '\n'))
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gitops-status: "+format+"\n", args...)
	os.Exit(2)
}

// readObjects accepts one object, an array of objects or a List, and several of them in a row.
func readObjects() ([]map[string]any, error) {
	decoder := json.NewDecoder(os.Stdin)
	decoder.UseNumber()
	var objects []map[string]any
	for decoder.More() {
		var value any
		if err := decoder.Decode(&value); err != nil {
			return nil, err
		}
		value = numbers(value)
		switch v := value.(type) {
		case []any:
			for j, item := range v {
				object, ok := item.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("array item %d is not an object", j)
				}
				objects = append(objects, object)
			}
		case map[string]any:
			if items, ok := v["items"].([]any); ok {
				for j, item := range items {
					object, ok := item.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("items[%d] is not an object", j)
					}
					objects = append(objects, object)
				}
			} else {
				objects = append(objects, v)
			}
		default:
			return nil, fmt.Errorf("expected a JSON object or array, found %T", value)
		}
	}
	return objects, nil
}

// numbers turns json.Number into int64 where integral, float64 otherwise, as
// the API machinery's unstructured decoding does (kstatus reads int64 fields).
func numbers(value any) any {
	switch v := value.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = numbers(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = numbers(x)
		}
		return v
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	}
	return value
}

// runHealth runs script with `obj` set to the object, in a state holding the
// base, table, string and math libraries, and reads back the table it returns.
func runHealth(script string, object map[string]any) (*health, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, object))
	if err := L.DoString(script); err != nil {
		return nil, err
	}
	returned, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("returned %s, not a table", L.Get(-1).Type())
	}
	h := &health{Status: lua.LVAsString(returned.RawGetString("status")), Message: lua.LVAsString(returned.RawGetString("message"))}
	return h, nil
}

// toLua converts decoded JSON as Argo CD does: objects to tables keyed by
// string, arrays to tables indexed from 1, numbers to Lua numbers.
func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		t := L.NewTable()
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, x := range v {
			t.RawSetString(k, toLua(L, x))
		}
		return t
	}
	return lua.LString(fmt.Sprint(value))
}
