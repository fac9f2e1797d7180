// The shop's stylesheet and its small script, served from /shop/assets/. The script only adds what
// cvm.js cannot see by itself: searches (with result counts), cart quantity changes and removals,
// checkout starts, and the member's id after login (cvm.identify) or logout (cvm.reset).
import { createHash } from 'node:crypto';

export const SHOP_CSS = `
:root{--ink:#1d2433;--muted:#5b6474;--line:#e3e6ec;--bg:#f7f8fa;--brand:#2f5d50;--brand2:#e07a5f;--card:#fff}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}header.top{background:var(--brand);color:#fff}header.top a{color:#fff;text-decoration:none}
.bar{max-width:1100px;margin:0 auto;padding:10px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.logo{font-weight:700;font-size:20px;margin-right:auto}.bar form{display:flex;gap:6px}
.bar input[type=search]{padding:6px 10px;border-radius:6px;border:0;min-width:220px}
.bar select{padding:4px;border-radius:6px;border:0}
nav.cats{background:#fff;border-bottom:1px solid var(--line)}nav.cats .bar{gap:18px;padding:8px 16px}nav.cats a{color:var(--ink);text-decoration:none;font-size:14px}
main{max-width:1100px;margin:0 auto;padding:20px 16px 40px}h1{font-size:26px;margin:6px 0 14px}h2{font-size:19px;margin:26px 0 10px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px;text-decoration:none;color:var(--ink);display:flex;flex-direction:column;gap:6px}
.card:hover{border-color:var(--brand)}.thumb{height:110px;border-radius:8px;display:flex;align-items:center;justify-content:center;color:#fff;font-weight:700;font-size:28px;letter-spacing:1px}
.card .t{font-size:14px;min-height:40px}.price{font-weight:700}.muted{color:var(--muted);font-size:13px}
.shelf{background:#fff;border:1px solid var(--line);border-radius:12px;padding:4px 14px 14px;margin:18px 0}
.shelf .grid{grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}
.product{display:grid;grid-template-columns:320px 1fr;gap:26px;background:#fff;border:1px solid var(--line);border-radius:12px;padding:18px}
.product .thumb{height:300px;font-size:64px}@media(max-width:700px){.product{grid-template-columns:1fr}}
button,.btn{background:var(--brand);color:#fff;border:0;border-radius:8px;padding:9px 16px;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.btn.secondary{background:#fff;color:var(--brand);border:1px solid var(--brand)}button.danger{background:#b23a48}
input,select{font:inherit}input[type=number]{width:70px;padding:6px}label{display:block;margin:10px 0 4px;font-weight:600}
.form{background:#fff;border:1px solid var(--line);border-radius:12px;padding:20px;max-width:420px}.form input{width:100%;padding:8px;border:1px solid var(--line);border-radius:6px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden}td,th{padding:10px;border-bottom:1px solid var(--line);text-align:left}th{background:#f0f2f5;font-size:13px}
.right{text-align:right}.notice{background:#eef6f2;border:1px solid #cfe5da;padding:10px 14px;border-radius:8px;margin:10px 0}
.error{background:#fdecee;border:1px solid #f3c1c8;padding:10px 14px;border-radius:8px;margin:10px 0;color:#7d1d2a}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;background:#eceff3}
.tier-bronze{background:#f3e2d3;color:#7a4b24}.tier-silver{background:#e6e9ee;color:#3f4a5a}.tier-gold{background:#fbefc3;color:#7a5d00}
.state-paid,.state-delivered,.state-shipped{background:#e3f4ea;color:#1f6b3f}.state-cancelled,.state-refunded{background:#f6e3e6;color:#7d1d2a}.state-created{background:#fff3d6;color:#7a5600}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:20px}@media(max-width:700px){.cols{grid-template-columns:1fr}}
.pager{display:flex;gap:10px;margin-top:16px}footer{color:var(--muted);font-size:13px;text-align:center;padding:20px}
.inline{display:inline}.row{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
`;

export const SHOP_JS = `(function(){
var cvm=window.cvm;if(!cvm)return;
var b=document.body,cid=b.getAttribute('data-shop-customer')||'';
function ls(k){try{return localStorage.getItem(k)}catch(e){return null}}
if(cid&&ls('cvm_cid')!==cid)cvm.identify(cid,null,{signature:b.getAttribute('data-shop-customer-sig')||''});
if(!cid&&b.hasAttribute('data-shop-logged-out')&&ls('cvm_cid'))cvm.reset();
var s=document.querySelector('[data-shop-search-query]');
if(s)cvm.track('search',{query:s.getAttribute('data-shop-search-query'),results:+s.getAttribute('data-shop-search-results')||0});
var c=document.querySelector('[data-shop-checkout-value]');
if(c)cvm.track('checkout_started',{value:+c.getAttribute('data-shop-checkout-value'),currency:c.getAttribute('data-shop-checkout-currency'),items:JSON.parse(c.getAttribute('data-shop-checkout-items')||'[]')});
function item(f,q){var p={product_id:f.getAttribute('data-product-id'),quantity:q};var pr=f.getAttribute('data-price'),cu=f.getAttribute('data-currency'),ca=f.getAttribute('data-category');
if(pr)p.price=+pr;if(cu)p.currency=cu;if(ca)p.category=ca;return p}
document.addEventListener('submit',function(e){var f=e.target;if(!f||!f.hasAttribute||!f.hasAttribute('data-shop-cart-line'))return;
var before=+f.getAttribute('data-quantity')||0,input=f.querySelector('input[name=quantity]'),after=input?+input.value:0;
if(e.submitter&&e.submitter.name==='remove')after=0;
if(after<before)cvm.track('remove_from_cart',item(f,before-after));else if(after>before)cvm.track('add_to_cart',item(f,after-before));},true);
var cp=document.getElementById('currency-picker');if(cp)cp.addEventListener('change',function(){cp.form.submit()});
var q=document.querySelector('[data-shop-quantity]');
if(q){var btn=document.querySelector('[data-cvm-add-to-cart]');q.addEventListener('input',function(){if(btn&&+q.value>=1)btn.setAttribute('data-cvm-quantity',String(Math.floor(+q.value)))})}
})();`;

const etag = (s: string) => `W/"${createHash('sha256').update(s).digest('base64url').slice(0, 16)}"`;
export const SHOP_CSS_ETAG = etag(SHOP_CSS);
export const SHOP_JS_ETAG = etag(SHOP_JS);
