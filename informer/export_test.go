package informer

import "github.com/controlloop/controlloop/reflector"

// Reflector returns the informer's reflector, so that a test can make it
// fail (run it first: the informer's Run of it then fails).
func (i *Informer[T]) Reflector() *reflector.Reflector[T] { return i.reflector }
