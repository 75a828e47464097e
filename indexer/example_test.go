package indexer_test

import (
	"fmt"
	"slices"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
)

type Pod struct {
	controlloop.ObjectMeta
	Node string
}

func ExampleIndexer() {
	ix, err := indexer.New(indexer.Options[*Pod]{
		Indexers: indexer.Indexers[*Pod]{
			"node": func(p *Pod) ([]string, error) { return []string{p.Node}, nil },
		},
	})
	if err != nil {
		panic(err)
	}
	for _, p := range []*Pod{
		{ObjectMeta: controlloop.ObjectMeta{Namespace: "web", Name: "a"}, Node: "n1"},
		{ObjectMeta: controlloop.ObjectMeta{Namespace: "web", Name: "b"}, Node: "n2"},
		{ObjectMeta: controlloop.ObjectMeta{Namespace: "db", Name: "c"}, Node: "n1"},
	} {
		if err := ix.Add(p); err != nil {
			panic(err)
		}
	}
	// Move b to n1: it leaves n2, which then holds nothing.
	_ = ix.Update(&Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "web", Name: "b"}, Node: "n1"})

	onN1, _ := ix.IndexKeys("node", "n1")
	keys := slices.SortedFunc(onN1, func(a, b controlloop.Key) int { return compare(a.String(), b.String()) })
	fmt.Println("on n1:", keys)
	inUse, _ := ix.ListIndexValues("node")
	fmt.Println("nodes in use:", slices.Sorted(inUse))

	web, _ := ix.ByIndex(indexer.NamespaceIndex, "web")
	n := 0
	for range web {
		n++
	}
	fmt.Println("pods in web:", n)
	p, ok := ix.Get(controlloop.Key{Namespace: "db", Name: "c"})
	fmt.Println(p.Node, ok)
	// Output:
	// on n1: [db/c web/a web/b]
	// nodes in use: [n1]
	// pods in web: 2
	// n1 true
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
