# shellcheck shell=bash
# Checks that the Dockerfile's dependency layer (stage `dependencies`, cooked by cargo-chef) is
# reused after a source edit and not after a Cargo.lock change (sourced by tests/suites/stack.sh
# after tests/lib.sh, once the images are built, so that every layer is in the cache).

# context_copy WORK_DIR NAME: a copy of the build context (the files git sees; .dockerignore
# applies to it as to the repository), printed as its path.
context_copy() {
  local copy=$1/context-$2
  mkdir "$copy"
  git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$copy"
  echo "$copy"
}

# recipe_digest CONTEXT: the SHA-256 of the recipe cargo-chef prepares from CONTEXT.
recipe_digest() {
  docker run --rm --network none "$(docker build -q --build-arg RUST_IMAGE --target planner "$1")" cat recipe.json | sha256sum
}

# source_edit_reuses_the_dependency_layer WORK_DIR
source_edit_reuses_the_dependency_layer() {
  local dependencies edited
  dependencies=$(docker build -q --build-arg RUST_IMAGE --target dependencies .)
  edited=$(context_copy "$1" source-edit)
  printf '\n// A source edit.\n' >>"$edited/service-kit/src/lib.rs"
  [ "$(docker build -q --build-arg RUST_IMAGE --target dependencies "$edited")" = "$dependencies" ] \
    || die "a source edit rebuilds the dependency layer (it must come from the cache)"
  # (cp gave every file of the copy a new modification time, too.)
  echo "ok: service-kit/src/lib.rs edited: the dependency layer ${dependencies:7:12} comes from the cache"
}

# lock_change_renews_the_recipe WORK_DIR: the dependency layer is built from the recipe, so a new
# recipe rebuilds it. (Building that layer would take minutes; the recipe shows it is stale.)
lock_change_renews_the_recipe() {
  local locked
  locked=$(context_copy "$1" lock-edit)
  sed -i '0,/^checksum = "./s/^checksum = "./checksum = "0/' "$locked/Cargo.lock"
  cmp -s Cargo.lock "$locked/Cargo.lock" && die "the Cargo.lock edit changed nothing"
  [ "$(recipe_digest .)" != "$(recipe_digest "$locked")" ] \
    || die "a Cargo.lock change leaves cargo-chef's recipe as it was (the dependency layer would be stale)"
  echo "ok: Cargo.lock changed: a new recipe, so the dependency layer is rebuilt"
}
