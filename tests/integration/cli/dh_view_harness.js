// Loads a DHAT file into Valgrind's own viewer code, /usr/libexec/valgrind/dh_view.js, the way
// dh_view.html does when a file is picked (loadFile: FileReader, JSON.parse, buildTree,
// displayTree), under node with a minimal DOM instead of a browser; then shows the tree under
// every sort metric the file allows. Any error the viewer raises or shows fails; the root's
// totals, as the viewer summed them, and the page's text are printed.
// Usage: node dh_view_harness.js DH_VIEW_JS FILE
'use strict';
const fs = require('fs');
const vm = require('vm');

const [viewer, file] = process.argv.slice(2);

class ClassList {
  constructor(node) { this.node = node; }
  names() { return this.node.className.split(/\s+/).filter((s) => s); }
  contains(c) { return this.names().includes(c); }
  add(c) { if (!this.contains(c)) this.node.className = [...this.names(), c].join(' '); }
  remove(c) { this.node.className = this.names().filter((n) => n !== c).join(' '); }
  toggle(c) { if (this.contains(c)) this.remove(c); else this.add(c); }
}

class Node {
  constructor(tagName, text = '') {
    this.tagName = tagName;
    this.childNodes = [];
    this.parentNode = null;
    this.className = '';
    this.style = {};
    this.ownText = text;
    this.classList = new ClassList(this);
  }
  appendChild(child) {
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }
  replaceChild(replacement, old) {
    const i = this.childNodes.indexOf(old);
    if (i < 0) throw new Error('replaceChild: not a child');
    this.childNodes[i] = replacement;
    replacement.parentNode = this;
    old.parentNode = null;
    return old;
  }
  cloneNode(deep) {
    if (deep) throw new Error('deep cloneNode is not in this DOM');
    const copy = new Node(this.tagName, this.ownText);
    copy.className = this.className;
    return copy;
  }
  get nextSibling() {
    const siblings = this.parentNode ? this.parentNode.childNodes : [];
    return siblings[siblings.indexOf(this) + 1] || null;
  }
  get textContent() {
    return this.ownText + this.childNodes.map((c) => c.textContent).join('');
  }
  set textContent(text) {
    this.childNodes = [];
    this.ownText = String(text);
  }
  click() {}
  // <select>: the selected option, as browsers keep it.
  get selectedIndex() {
    const i = this.childNodes.findIndex((o) => o.selected);
    return i < 0 ? 0 : i;
  }
  set selectedIndex(index) {
    this.childNodes.forEach((o, i) => { o.selected = i === index; });
  }
  *walk() {
    yield this;
    for (const c of this.childNodes) yield* c.walk();
  }
}

const document = {
  title: '',
  body: new Node('body'),
  location: {search: ''},
  createElement: (tag) => new Node(tag),
  createTextNode: (text) => new Node('#text', text),
};
class FileReader {
  readAsText(f) { this.onload({target: {result: f.text}}); }
}
const context = vm.createContext({
  document, FileReader, performance, console, URLSearchParams, Intl, Error, Math, JSON,
});
vm.runInContext(fs.readFileSync(viewer, 'utf8'), context, {filename: viewer});

const fail = (message) => { console.error(`${file}: ${message}`); process.exit(1); };
const shownErrors = () => [...document.body.walk()]
    .filter((n) => n.classList.contains('error')).map((n) => n.textContent);

context.picked = {name: file.split('/').pop(), text: fs.readFileSync(file, 'utf8')};
try {
  vm.runInContext('onLoad(); gInput.files = [picked]; loadFile();', context);
} catch (e) {
  fail(`the viewer failed to load it: ${e}`);
}
if (shownErrors().length) fail(`the viewer shows: ${shownErrors().join('; ')}`);
const metrics = vm.runInContext(`
  let shown = [];
  for (let [i, option] of gSelect.childNodes.entries()) {
    if (option.disabled) continue;
    gSelect.selectedIndex = i;
    changeSortMetric();
    shown.push(option.label);
  }
  shown`, context);
if (shownErrors().length) fail(`the viewer shows: ${shownErrors().join('; ')}`);
const root = vm.runInContext(`({
  totalBytes: gRoot._totalBytes, totalBlocks: gRoot._totalBlocks,
  atTGmaxBytes: gRoot._atTGmaxBytes, atTEndBytes: gRoot._atTEndBytes,
  atTEndBlocks: gRoot._atTEndBlocks})`, context);
const text = vm.runInContext('gMainDiv.textContent', context);
console.log(JSON.stringify({root, metrics, title: document.title}));
console.log(text);
