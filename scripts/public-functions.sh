#!/bin/sh
# public-functions.sh: the public functions declared by the headers under
# include/, one per line.  The preprocessor drops the comments first, so a
# reference such as "ak_future(3)" in prose is not taken for a declaration.
set -eu
${CC:-cc} -E -P -Iinclude include/awaitkit.h \
	| sed -E 's/\b(struct|union|enum)[[:space:]]+[A-Za-z_0-9]+//g' \
	| grep -oE '\bak_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' \
	| grep -v '^ak__' | sort -u
