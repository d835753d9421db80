/*
 * conform/main.c: ak-conform(1), the conformance kit run against the
 * shipped executors.  ak-conform [-l] [-c CHECK] [EXECUTOR...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <awaitkit/conform.h>

#include "drivers.h"

static int usage(void)
{
	fprintf(stderr, "usage: ak-conform [-l] [-c check] [executor ...]\n"
	        "executors:");
	for (int i = 0; conform_drivers[i]; i++)
		fprintf(stderr, " %s", conform_drivers[i]->name);
	fprintf(stderr, "\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "lc:")) != -1) {
		switch (opt) {
		case 'l':
			for (int i = 0; i < ak_conform_check_count(); i++)
				printf("%s\n", ak_conform_check_name(i));
			return 0;
		case 'c':
			only = optarg;
			break;
		default:
			return usage();
		}
	}
	const struct ak_conform_executor *const *list = conform_drivers;
	const struct ak_conform_executor *named[16];
	if (optind < argc) {
		int n = 0;
		for (int i = optind; i < argc && n < 15; i++) {
			named[n] = conform_driver(argv[i]);
			if (!named[n]) {
				fprintf(stderr, "ak-conform: no executor %s\n", argv[i]);
				return usage();
			}
			n++;
		}
		named[n] = NULL;
		list = named;
	}
	int failed = 0, executors = 0, bad = 0;
	for (int i = 0; list[i]; i++) {
		int rc = ak_conform_run(list[i], only, stdout);
		if (rc < 0) {
			fprintf(stderr, "ak-conform: no check named %s\n", only);
			return 2;
		}
		executors++;
		failed += rc;
		bad += rc > 0;
	}
	printf("ak-conform: %d executors, %d conform, %d checks failed\n",
	       executors, executors - bad, failed);
	return failed ? 1 : 0;
}
