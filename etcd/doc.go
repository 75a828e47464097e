// Package etcd serves controlloop objects from etcd v3.
package etcd
