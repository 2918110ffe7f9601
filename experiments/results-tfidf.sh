#!/usr/bin/env bash
# Reproduce every TF-IDF table of the README's "Results: TF-IDF baselines" section.
#
#   experiments/results-tfidf.sh [RUNS_DIR]      (default: runs; about 45 minutes on 2 cores)
#
# Finished runs with the same configuration are reused, so a second call only prints the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-runs}"
TOOLKIT="${TOOLKIT:-toolkit}"

run() { $TOOLKIT run "experiments/$1.yaml" --output-dir "$RUNS" --quiet > /dev/null; }
table() { echo; echo "\`toolkit compare $*\`"; echo; $TOOLKIT compare --markdown "$@"; }
latest() { ls -d "$RUNS"/$1-?????????? | tail -n 1; }  # a run directory is NAME-<10 hex digits>
paired() { echo; $TOOLKIT compare --test --markdown "$(latest "$1")" "$(latest "$2")"; }

$TOOLKIT main --out "$RUNS" --quiet > /dev/null  # the main job: tfidf-loo for every task
for config in tfidf-grid-loo tfidf-grid-seed tfidf-seed tfidf-time tfidf-context-loo tfidf-context-seed; do
    run "$config"
done

echo "## The main job"
table "$RUNS/tfidf-loo-*"
echo "## Leave-one-letter-out, every features × classifier combination"
table "$RUNS/tfidf-grid-loo-*"
echo "## The seed letter held out"
table "$RUNS/tfidf-grid-seed-*" "$RUNS/tfidf-seed-*"
echo "## Time-ordered split"
table "$RUNS/tfidf-time-*"
echo "## Context"
table "$RUNS/tfidf-context-loo-*" "$RUNS/tfidf-loo-*"
table "$RUNS/tfidf-context-seed-*" "$RUNS/tfidf-seed-*"
echo "## Paired tests"
paired tfidf-grid-loo-topic-wordchar-svm tfidf-grid-loo-topic-word-svm
paired tfidf-grid-loo-stance-wordchar-svm tfidf-grid-loo-stance-char-logreg
paired tfidf-context-loo-topic-sectionneighbours tfidf-grid-loo-topic-wordchar-svm
paired tfidf-context-loo-actor-letter tfidf-grid-loo-actor-wordchar-svm
paired tfidf-context-loo-stance-letter tfidf-grid-loo-stance-wordchar-svm
paired tfidf-context-loo-topic-sectionneighboursletter tfidf-context-loo-topic-sectionneighbours
paired tfidf-context-seed-topic-sectionneighbours tfidf-context-seed-topic-none
paired tfidf-context-seed-topic-sectionneighboursletter tfidf-context-seed-topic-sectionneighbours
paired tfidf-context-seed-actor-letter tfidf-context-seed-actor-none
